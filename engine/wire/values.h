// What kind of value an object holds, and the system errors a value can carry, as every process
// reads them off the wire. A system error value's data is the text "CODE: message", CODE being
// one of SystemErrorName's names; the Python layer maps each code to an exception class.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rayx {

enum class ValueKind : uint8_t { kValue = 0, kTaskError = 1, kSystemError = 2 };

enum class SystemError : uint8_t {
  kWorkerDied,
  kTaskCancelled,
  kObjectLost,
  kObjectStoreFull,
  kActorDied,
  kOwnerDied,
  kUnschedulable,
  kNodeDied,
};
inline constexpr SystemError kAllSystemErrors[] = {
    SystemError::kWorkerDied,  SystemError::kTaskCancelled, SystemError::kObjectLost,
    SystemError::kObjectStoreFull, SystemError::kActorDied, SystemError::kOwnerDied,
    SystemError::kUnschedulable, SystemError::kNodeDied,
};

// The code as it appears in a system error's text.
constexpr std::string_view SystemErrorName(SystemError error) {
  switch (error) {
    case SystemError::kWorkerDied: return "WORKER_DIED";
    case SystemError::kTaskCancelled: return "TASK_CANCELLED";
    case SystemError::kObjectLost: return "OBJECT_LOST";
    case SystemError::kObjectStoreFull: return "OBJECT_STORE_FULL";
    case SystemError::kActorDied: return "ACTOR_DIED";
    case SystemError::kOwnerDied: return "OWNER_DIED";
    case SystemError::kUnschedulable: return "UNSCHEDULABLE";
    case SystemError::kNodeDied: return "NODE_DIED";
  }
  return "UNKNOWN";
}

// A system error's text: "CODE: message".
inline std::string SystemErrorText(SystemError error, std::string_view message) {
  std::string text(SystemErrorName(error));
  text.append(": ").append(message);
  return text;
}

}  // namespace rayx
