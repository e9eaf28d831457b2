// GuardCallback: the one way engine code runs when libuv calls it back.
//
// libuv is C: an exception unwinding through one of its frames is undefined behaviour (in practice
// std::terminate, or a loop left with half-updated state). So every callback we hand to libuv
// (read, alloc, write, close, timer, async, prepare, connection, walk, process exit) runs its body
// inside GuardCallback, which catches everything, std::bad_alloc included, logs it at Error level
// naming where it happened, and tells the caller, which then takes the recovery defined for that
// callback: a connection closes (the loop goes on serving the others), a timer or a posted
// function is skipped (the loop carries on), a close callback still frees its memory.
//
// Thread: any; it touches no shared state besides writing the log.
#pragma once

#include <exception>
#include <utility>

namespace rayx {
namespace internal {

// Logs that the callback named where threw; what is the exception's what(), or a note that it was
// not a std::exception. Never throws: if logging itself fails (out of memory), it falls back to a
// fixed message written straight to stderr.
void LogCallbackException(const char* where, const char* what) noexcept;

}  // namespace internal

// Runs f() and returns true, or, if f throws, logs the exception and returns false. where names
// the callback in the log, such as "Connection read callback".
template <typename F>
bool GuardCallback(const char* where, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return true;
  } catch (const std::exception& e) {
    internal::LogCallbackException(where, e.what());
  } catch (...) {
    internal::LogCallbackException(where, "an exception not derived from std::exception");
  }
  return false;
}

}  // namespace rayx
