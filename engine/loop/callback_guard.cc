#include "engine/loop/callback_guard.h"

#include <unistd.h>

#include <cstring>

#include "engine/base/logging.h"

namespace rayx {
namespace internal {
namespace {

void WriteStderr(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void LogCallbackException(const char* where, const char* what) noexcept {
  try {
    RAYX_LOG(Error) << "exception in " << where << ", caught before it reached libuv: " << what;
  } catch (...) {
    // The log message could not be built, most likely for want of memory.
    WriteStderr("[rayx E] exception in ");
    WriteStderr(where);
    WriteStderr(", caught before it reached libuv (could not log its message)\n");
  }
}

}  // namespace internal
}  // namespace rayx
