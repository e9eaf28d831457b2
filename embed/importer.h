// The import machinery that serves the `rayx` package compiled into the binary.
//
// Two steps, both done by embed/interpreter.cc:
//   1. Before the interpreter starts, PyInit__rayx_embedded is registered as the builtin module
//      `_rayx_embedded`, which exposes the embedded file table to Python.
//   2. Right after it starts, InstallImporter() runs embed/importer.py as the module
//      `_rayx_importer` and calls its install(): from then on `import rayx` (and `import ray`, the
//      same module) is served from the binary. See importer.py for the full contract.
#pragma once

#include <Python.h>

#include "engine/base/status.h"

namespace rayx::embed {

// The builtin module `_rayx_embedded`: find(name) -> (is_package, path) | None, and
// get_data(name) -> bytes (ImportError when no such module is embedded).
extern "C" PyObject* PyInit__rayx_embedded(void);

// Installs the meta-path finder for the embedded package.
// REQUIRES: the interpreter is initialized, `_rayx_embedded` is registered, and the calling
// thread holds the GIL. Returns an Internal error carrying the Python exception on failure.
Status InstallImporter();

// Turns the pending Python exception into an Internal status ("what: ValueError: ...") and clears
// it. REQUIRES: the GIL is held and an exception is set.
Status StatusFromPythonError(const std::string& what);

}  // namespace rayx::embed
