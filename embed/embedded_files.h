// Python sources compiled into the rayx binary.
//
// The build turns the files listed in //embed/python:rayx_package (the `rayx` package) and
// embed/importer.py (the import hook that serves them) into constant tables; see gen_embedded.py.
// The tables are immutable and may be read from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace rayx::embed {

struct EmbeddedFile {
  const char* module;  // "rayx" or "rayx.foo".
  const char* path;    // Relative to the package root: "rayx/__init__.py", "rayx/foo.py".
  bool is_package;     // True for an __init__.py.
  const char* data;    // The file's bytes, followed by a NUL that `size` does not count.
  size_t size;
  // The module's code compiled at build time: the build Python's 4-byte bytecode magic number,
  // then the marshalled code object. Empty (code_size 0) when the table has no code. The import
  // hook uses it only when the magic is the running interpreter's (embed/importer.py).
  const char* code;
  size_t code_size;
};

// Returns the file of the embedded `rayx` package that defines `module`, or nullptr.
const EmbeddedFile* FindPackageFile(std::string_view module);

// Returns the source of embed/importer.py.
const EmbeddedFile& ImporterSource();

}  // namespace rayx::embed
