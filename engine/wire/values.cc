#include "engine/wire/values.h"

namespace rayx {
namespace {

struct NamedCode {
  SystemErrorCode code;
  std::string_view name;
};

// In the order of SystemErrorCode, so that a code indexes its entry.
constexpr NamedCode kNames[] = {
    {SystemErrorCode::kWorkerDied, "WORKER_DIED"},
    {SystemErrorCode::kTaskCancelled, "TASK_CANCELLED"},
    {SystemErrorCode::kObjectLost, "OBJECT_LOST"},
    {SystemErrorCode::kObjectStoreFull, "OBJECT_STORE_FULL"},
    {SystemErrorCode::kActorDied, "ACTOR_DIED"},
    {SystemErrorCode::kOwnerDied, "OWNER_DIED"},
    {SystemErrorCode::kUnschedulable, "UNSCHEDULABLE"},
    {SystemErrorCode::kNodeDied, "NODE_DIED"},
    {SystemErrorCode::kObjectTooLarge, "OBJECT_TOO_LARGE"},
    {SystemErrorCode::kObjectFreed, "OBJECT_FREED"},
};

constexpr bool NamesInOrder() {
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if (static_cast<size_t>(kNames[i].code) != i) return false;
  }
  return true;
}
static_assert(NamesInOrder(), "kNames must follow the order of SystemErrorCode");

}  // namespace

std::string_view SystemErrorName(SystemErrorCode code) {
  size_t index = static_cast<size_t>(code);
  if (index >= sizeof(kNames) / sizeof(kNames[0])) return "SYSTEM_ERROR";
  return kNames[index].name;
}

std::optional<SystemErrorCode> SystemErrorFromName(std::string_view name) {
  for (const NamedCode& entry : kNames) {
    if (entry.name == name) return entry.code;
  }
  return std::nullopt;
}

std::string SystemErrorText(SystemErrorCode code, std::string_view message) {
  std::string text(SystemErrorName(code));
  text += ": ";
  text += message.substr(0, kMaxErrorMessageSize);
  if (message.size() > kMaxErrorMessageSize) text += "...";
  return text;
}

}  // namespace rayx
