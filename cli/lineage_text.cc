#include "cli/lineage_text.h"

#include <cstdio>
#include <ctime>

#include "engine/node/session_dirs.h"
#include "storage/lineage_catalog.h"

namespace rayx::cli {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string LocalTime(int64_t ms) {
  if (ms == 0) return "-";
  time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm local;
  localtime_r(&seconds, &local);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string MachineLineageRoot() { return LineageRoot(DataDirectory()); }

}  // namespace rayx::cli
