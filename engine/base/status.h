// Status and StatusOr: the one way fallible operations report failure in rayx.
//
// A Status is either OK or carries a code and a message. Functions that can fail return Status
// (or StatusOr<T> when they also produce a value) and callers pass failures up with
// RAYX_RETURN_IF_ERROR / RAYX_ASSIGN_OR_RETURN. No C++ exception crosses a libuv callback or a
// CPython frame; embed/ turns a Status into the matching Python exception in one place.
#pragma once

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace rayx {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  // The caller passed something malformed.
  kNotFound,         // A named thing (file, id, actor) does not exist.
  kAlreadyExists,
  kTimedOut,
  kCancelled,
  kIoError,        // The OS refused a read, write, spawn or socket call.
  kProtocolError,  // A peer sent a frame that failed verification or broke the protocol.
  kOutOfMemory,    // The object store or the disk is full.
  kUnavailable,    // The node or peer is gone or not yet reachable.
  kFailedPrecondition,
  kInternal,  // A bug in rayx; the message says where.
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "IoError: connect /tmp/x.sock: No such file or directory", or "OK".
  std::string ToString() const;

  // Returns this status with "context: " put in front of its message; OK stays OK.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

// Shorthands that read well at the call site: return InvalidArgument("bad frame size");
inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status AlreadyExists(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status TimedOut(std::string m) { return Status(StatusCode::kTimedOut, std::move(m)); }
inline Status Cancelled(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }
inline Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
inline Status ProtocolError(std::string m) {
  return Status(StatusCode::kProtocolError, std::move(m));
}
inline Status OutOfMemory(std::string m) { return Status(StatusCode::kOutOfMemory, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// An IoError whose message is "what: strerror(errno_value)".
Status ErrnoError(const std::string& what, int errno_value);

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // As in Abseil, an OK status without a value is turned into an Internal error; code that
  // declares a StatusOr before assigning it (across a GIL release, say) relies on this.
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "StatusOr holds no value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace rayx

#define RAYX_STATUS_CONCAT_INNER(a, b) a##b
#define RAYX_STATUS_CONCAT(a, b) RAYX_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when expr yields a non-OK Status.
#define RAYX_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::rayx::Status rayx_status_ = (expr);        \
    if (!rayx_status_.ok()) return rayx_status_; \
  } while (0)

// Declares or assigns lhs from a StatusOr expression, returning its Status on failure.
#define RAYX_ASSIGN_OR_RETURN(lhs, expr) \
  RAYX_ASSIGN_OR_RETURN_IMPL(RAYX_STATUS_CONCAT(rayx_statusor_, __LINE__), lhs, expr)
#define RAYX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
