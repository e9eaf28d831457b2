#include "embed/embedded_files.h"

#include <algorithm>
#include <cstring>

namespace rayx::embed {

// Defined in the generated rayx_package.cc and importer_source.cc, sorted by module name.
extern const EmbeddedFile kPackageFiles[];
extern const size_t kPackageFilesCount;
extern const EmbeddedFile kImporterFiles[];
extern const size_t kImporterFilesCount;

const EmbeddedFile* FindPackageFile(std::string_view module) {
  const EmbeddedFile* end = kPackageFiles + kPackageFilesCount;
  const EmbeddedFile* it = std::lower_bound(
      kPackageFiles, end, module,
      [](const EmbeddedFile& f, std::string_view m) { return std::string_view(f.module) < m; });
  if (it == end || std::string_view(it->module) != module) return nullptr;
  return it;
}

const EmbeddedFile& ImporterSource() { return kImporterFiles[0]; }

}  // namespace rayx::embed
