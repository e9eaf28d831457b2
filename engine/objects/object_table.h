// ObjectTable: the node's directory of objects, their values and who keeps them alive.
//
// An object is created pending (a task will produce it) or sealed at once (a put). Its value is
// either inline bytes or a shared-memory file in the session directory. An object stays while any
// of these hold it: a process that has a reference (holders), a queued or running task that takes
// it as an argument (pins), or another live object that contains a reference to it. When the last
// hold goes, the object is freed: its file is removed, and the objects it contained lose a hold.
// A value that arrives for an object that nobody holds any more is freed at once.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/ids.h"

namespace rayx {

enum class ValueKind : uint8_t { kValue = 0, kTaskError = 1, kSystemError = 2 };

struct StoredValue {
  ValueKind kind = ValueKind::kValue;
  std::string inline_data;  // The serialized object, when not in shared memory.
  bool in_shm = false;
  uint64_t shm_size = 0;
  std::vector<ObjectID> contained;  // References held inside this value.
};

struct ObjectStoreStats {
  size_t num_objects = 0;
  uint64_t shm_bytes = 0;
  uint64_t inline_bytes = 0;
};

class ObjectTable {
 public:
  using ReadyCallback = std::function<void()>;

  // session_dir holds the shared-memory files, named by object id in hex.
  explicit ObjectTable(std::string session_dir);
  ~ObjectTable();  // Removes every object file still present.

  std::string PathOf(const ObjectID& id) const;

  // Registers an object that a task will produce. A no-op if it exists.
  void CreatePending(const ObjectID& id);
  // Stores id's value and runs its waiters. A second value for the same id is dropped (a retried
  // task may finish twice). If nobody holds id, the value is freed at once.
  void Seal(const ObjectID& id, StoredValue value);

  bool Exists(const ObjectID& id) const { return objects_.count(id) != 0; }
  bool IsReady(const ObjectID& id) const;
  // The value, or nullptr when id is unknown or not ready. Valid until the next call that may free.
  const StoredValue* Get(const ObjectID& id) const;

  // Calls cb once, when id is sealed (at once if it is ready now). Returns a handle for
  // CancelWaiter. A waiter on an unknown id waits until it is created and sealed.
  uint64_t OnReady(const ObjectID& id, ReadyCallback cb);
  void CancelWaiter(const ObjectID& id, uint64_t handle);

  void AddHolder(const ObjectID& id);
  void RemoveHolder(const ObjectID& id);
  void Pin(const ObjectID& id);
  void Unpin(const ObjectID& id);

  ObjectStoreStats Stats() const;

 private:
  struct Entry {
    bool ready = false;
    StoredValue value;
    int64_t holders = 0;
    int64_t pins = 0;
    int64_t contained_in = 0;
    std::vector<std::pair<uint64_t, ReadyCallback>> waiters;
  };

  void MaybeFree(const ObjectID& id);
  void FreeValue(const ObjectID& id, const StoredValue& value);
  void ReleaseContained(const std::vector<ObjectID>& contained);

  std::string session_dir_;
  std::unordered_map<ObjectID, Entry> objects_;
  uint64_t next_waiter_ = 1;
};

}  // namespace rayx
