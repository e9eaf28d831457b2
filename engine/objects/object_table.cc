#include "engine/objects/object_table.h"

#include <utility>

#include "engine/base/logging.h"
#include "engine/objects/shm_file.h"

namespace rayx {

ObjectTable::ObjectTable(std::string session_dir) : session_dir_(std::move(session_dir)) {}

ObjectTable::~ObjectTable() {
  for (auto& [id, entry] : objects_) {
    if (entry.ready && entry.value.in_shm) (void)RemoveObjectFile(PathOf(id));
  }
}

std::string ObjectTable::PathOf(const ObjectID& id) const { return session_dir_ + "/" + id.Hex(); }

void ObjectTable::CreatePending(const ObjectID& id) { objects_.try_emplace(id); }

void ObjectTable::Seal(const ObjectID& id, StoredValue value) {
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    // Nobody asked for or holds this object any more: drop the value at once.
    FreeValue(id, value);
    return;
  }
  Entry& entry = it->second;
  if (entry.ready) {
    if (!(value.in_shm && entry.value.in_shm)) FreeValue(id, value);
    return;
  }
  for (const ObjectID& inner : value.contained) {
    RAYX_LOG(Debug) << id.Hex() << " contains " << inner.Hex();
    auto inner_it = objects_.find(inner);
    if (inner_it != objects_.end()) inner_it->second.contained_in++;
  }
  entry.ready = true;
  entry.value = std::move(value);
  auto waiters = std::move(entry.waiters);
  entry.waiters.clear();
  // A waiter may free the entry (dropping a hold), so the entry is not touched after this.
  for (auto& [handle, cb] : waiters) cb();
  MaybeFree(id);
}

bool ObjectTable::IsReady(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.ready;
}

const StoredValue* ObjectTable::Get(const ObjectID& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready) return nullptr;
  return &it->second.value;
}

uint64_t ObjectTable::OnReady(const ObjectID& id, ReadyCallback cb) {
  uint64_t handle = next_waiter_++;
  Entry& entry = objects_[id];
  if (entry.ready) {
    cb();
    return handle;
  }
  entry.waiters.emplace_back(handle, std::move(cb));
  return handle;
}

void ObjectTable::CancelWaiter(const ObjectID& id, uint64_t handle) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  auto& waiters = it->second.waiters;
  for (auto w = waiters.begin(); w != waiters.end(); ++w) {
    if (w->first == handle) {
      waiters.erase(w);
      break;
    }
  }
  MaybeFree(id);
}

void ObjectTable::AddHolder(const ObjectID& id) {
  RAYX_LOG(Debug) << "holder added to " << id.Hex();
  objects_[id].holders++;
}

void ObjectTable::RemoveHolder(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.holders--;
  MaybeFree(id);
}

void ObjectTable::Pin(const ObjectID& id) { objects_[id].pins++; }

void ObjectTable::Unpin(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.pins--;
  MaybeFree(id);
}

void ObjectTable::MaybeFree(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  const Entry& entry = it->second;
  if (entry.holders > 0 || entry.pins > 0 || entry.contained_in > 0 || !entry.waiters.empty()) {
    return;
  }
  RAYX_LOG(Debug) << "freeing object " << id.Hex() << (entry.ready ? "" : " (pending)");
  // A pending object that nobody holds is forgotten; its value is dropped when it arrives.
  StoredValue value = std::move(it->second.value);
  bool ready = entry.ready;
  objects_.erase(it);
  if (ready) FreeValue(id, value);
}

void ObjectTable::FreeValue(const ObjectID& id, const StoredValue& value) {
  if (value.in_shm) {
    Status s = RemoveObjectFile(PathOf(id));
    if (!s.ok()) RAYX_LOG(Warning) << s;
  }
  ReleaseContained(value.contained);
}

void ObjectTable::ReleaseContained(const std::vector<ObjectID>& contained) {
  for (const ObjectID& inner : contained) {
    auto it = objects_.find(inner);
    if (it == objects_.end()) continue;
    it->second.contained_in--;
    MaybeFree(inner);
  }
}

ObjectStoreStats ObjectTable::Stats() const {
  ObjectStoreStats stats;
  for (const auto& [id, entry] : objects_) {
    if (!entry.ready) continue;
    stats.num_objects++;
    if (entry.value.in_shm) {
      stats.shm_bytes += entry.value.shm_size;
    } else {
      stats.inline_bytes += entry.value.inline_data.size();
    }
  }
  return stats;
}

}  // namespace rayx
