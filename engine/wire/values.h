// The kinds of stored value and the codes of the system errors the engine produces, shared by the
// node and its clients.
//
// A system error value's data is the text "CODE: message", where CODE is one of the names below;
// the Python layer maps each name to an exception class (an unknown name gives RaySystemError).
// The numbers of ValueKind are those of wire::ValueKind in protocol.fbs.
//
// Thread-safe: constants and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rayx {

enum class ValueKind : uint8_t { kValue = 0, kTaskError = 1, kSystemError = 2 };

// The largest value a message may carry inline (larger ones go in shared memory). The node refuses
// a larger inline value, so that any one value fits a reply with room to spare.
inline constexpr size_t kMaxInlineValueSize = 64u << 20;

// The longest message of a system error's text; SystemErrorText cuts a longer one.
inline constexpr size_t kMaxErrorMessageSize = 64u << 10;

enum class SystemErrorCode : uint8_t {
  kWorkerDied,       // The worker running the task died, and no retries remain.
  kTaskCancelled,    // The task was cancelled.
  kObjectLost,       // The object (or an argument) was freed or lost.
  kObjectStoreFull,  // A put found no room, even after spilling.
  kActorDied,        // The actor is dead, or died while running the call.
  kOwnerDied,        // The process that owned the object exited.
  kUnschedulable,    // The task can never run (on this node, or anywhere).
  kNodeDied,         // The node that held the object or ran the task died.
  kObjectTooLarge,   // Too large for a reader that takes every value inline (a driver over TCP).
  kObjectFreed,      // The object was freed by hand (ray._private.internal_api.free).
};

// The name of code as it appears in a system error's text, such as "WORKER_DIED".
std::string_view SystemErrorName(SystemErrorCode code);

// The code of a name from SystemErrorName; nullopt for a name that is none of them.
std::optional<SystemErrorCode> SystemErrorFromName(std::string_view name);

// The text of a system error value: "CODE: message", the message cut to kMaxErrorMessageSize.
std::string SystemErrorText(SystemErrorCode code, std::string_view message);

}  // namespace rayx
