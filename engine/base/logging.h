// Logging to stderr and CHECK for programmer invariants.
//
// CHECK guards invariants that only a bug in rayx can break. Input from a peer, a worker, the disk
// or the user never reaches a CHECK: such input yields an error Status instead.
// Thread-safe: each message is written with one write(2) call.
#pragma once

#include <sstream>
#include <string>

namespace rayx {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

// Messages below this level are dropped. Read once from RAYX_LOG_LEVEL (debug, info, warning,
// error); the default is warning, so a user's terminal shows only what needs attention.
LogLevel MinLogLevel();

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();  // Writes the message; aborts the process for kFatal.
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Swallows a stream expression so that a disabled log statement compiles to almost nothing.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace rayx

#define RAYX_LOG(level)                                  \
  !(::rayx::LogLevel::k##level >= ::rayx::MinLogLevel()) \
      ? (void)0                                          \
      : ::rayx::internal::LogVoidify() &                 \
            ::rayx::internal::LogMessage(::rayx::LogLevel::k##level, __FILE__, __LINE__).stream()

#define RAYX_CHECK(cond)                                                                           \
  (cond) ? (void)0                                                                                 \
         : ::rayx::internal::LogVoidify() &                                                        \
               ::rayx::internal::LogMessage(::rayx::LogLevel::kFatal, __FILE__, __LINE__).stream() \
                   << "Check failed: " #cond " "

#define RAYX_CHECK_OK(expr)                                               \
  do {                                                                    \
    ::rayx::Status rayx_check_status_ = (expr);                           \
    RAYX_CHECK(rayx_check_status_.ok()) << rayx_check_status_.ToString(); \
  } while (0)
