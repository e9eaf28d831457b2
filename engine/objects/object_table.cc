#include "engine/objects/object_table.h"

#include <cerrno>
#include <cstdio>
#include <utility>

#include "engine/base/logging.h"
#include "engine/objects/shm_file.h"
#include "engine/objects/spill_io.h"

namespace rayx {

ObjectTable::ObjectTable(ObjectTableOptions options) : options_(std::move(options)) {}

ObjectTable::ObjectTable(std::string store_dir)
    : ObjectTable(ObjectTableOptions{std::move(store_dir), "", 0, nullptr}) {}

ObjectTable::~ObjectTable() {
  *alive_ = false;
  for (auto& [id, entry] : objects_) {
    if (!entry.ready || !entry.value.in_shm) continue;
    if (entry.where == Where::kMemory || entry.where == Where::kSpilling) {
      (void)RemoveObjectFile(PathOf(id));
    }
    if (entry.where == Where::kPulling) (void)RemoveObjectFile(PullPathOf(id, entry.generation));
    if (entry.has_spill_file) (void)RemoveObjectFile(SpillPathOf(id, entry.generation));
  }
}

std::string ObjectTable::PathOf(const ObjectID& id) const {
  return options_.store_dir + "/" + id.Hex();
}

std::string ObjectTable::SpillPathOf(const ObjectID& id, uint64_t generation) const {
  // The generation keeps a spill of a freed object apart from a later object with the same id.
  return options_.spill_dir + "/" + id.Hex() + "." + std::to_string(generation);
}

std::string ObjectTable::PullPathOf(const ObjectID& id, uint64_t generation) const {
  // Not PathOf(id): a fetch that ends after its entry went must not touch a later value's file.
  return PathOf(id) + ".remote" + std::to_string(generation);
}

std::string ObjectTable::ReadablePath(const ObjectID& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready || !it->second.value.in_shm) return "";
  const Entry& entry = it->second;
  switch (entry.where) {
    case Where::kMemory:
    case Where::kSpilling:
      return PathOf(id);
    case Where::kSpilled:
    case Where::kRestoring:
      return entry.has_spill_file ? SpillPathOf(id, entry.generation) : "";
    case Where::kRemote:
    case Where::kPulling:
      return "";
  }
  return "";
}

void ObjectTable::CreatePending(const ObjectID& id) { objects_.try_emplace(id); }

bool ObjectTable::Seal(const ObjectID& id, StoredValue value) {
  return SealEntry(id, std::move(value), NodeID());
}

bool ObjectTable::SealItem(const ObjectID& item, StoredValue value) {
  ObjectID generator = ItemGenerator(item);
  if (item.IsPut() || item.Index() == 0 || objects_.count(generator) == 0) {
    Seal(item, std::move(value));  // Nobody holds it: freed at once (unless a waiter wants it).
    return false;
  }
  std::unordered_set<ObjectID>& holds = item_holds_[generator];
  auto it = objects_.find(item);
  if (holds.count(item) != 0 || (it != objects_.end() && it->second.ready)) {
    Seal(item, std::move(value));  // Here already: the first value stays (or refills a lost one).
    return false;
  }
  holds.insert(item);
  objects_[item].contained_in++;  // Created pending if no waiter made it already.
  Seal(item, std::move(value));
  return true;
}

void ObjectTable::TakeHeldItem(const ObjectID& id) {
  if (id.IsPut() || id.Index() == 0) return;
  auto holds = item_holds_.find(ItemGenerator(id));
  if (holds == item_holds_.end() || holds->second.erase(id) == 0) return;
  ReleaseContained({id});
}

bool ObjectTable::SealRemote(const ObjectID& id, StoredValue value, const NodeID& location) {
  value.in_shm = true;
  return SealEntry(id, std::move(value), location);
}

bool ObjectTable::SealEntry(const ObjectID& id, StoredValue value, const NodeID& remote) {
  bool is_remote = !remote.IsNil();
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    // Nobody asked for or holds this object any more: drop the value at once. Its contained
    // references were never counted, so there is nothing to release.
    if (is_remote) {
      if (remote_free_listener_) remote_free_listener_(id, remote);
    } else if (value.in_shm) {
      (void)RemoveObjectFile(PathOf(id));
    }
    return false;
  }
  Entry& entry = it->second;
  if (entry.ready && is_remote) {
    // A second value on another node: that copy is not needed. (On the first value's node it
    // replaced the first under the same name, which is still needed.)
    if (remote != entry.remote && remote_free_listener_) remote_free_listener_(id, remote);
    return true;
  }
  if (entry.ready) {
    // A second value (a retried task finished twice). A second shared-memory file replaced the
    // first under the same name; it is removed unless the first one is still in memory.
    bool first_in_memory =
        entry.value.in_shm && (entry.where == Where::kMemory || entry.where == Where::kSpilling);
    if (value.in_shm && !first_in_memory && entry.where != Where::kRestoring) {
      (void)RemoveObjectFile(PathOf(id));
    }
    return true;
  }
  for (const ObjectID& inner : value.contained) {
    RAYX_LOG(Debug) << id.Hex() << " contains " << inner.Hex();
    auto inner_it = objects_.find(inner);
    if (inner_it != objects_.end()) inner_it->second.contained_in++;
  }
  if (pin_actor_) {
    for (const ActorID& actor : value.contained_actors) pin_actor_(actor, +1);
  }
  entry.ready = true;
  entry.lost = false;
  entry.value = std::move(value);
  entry.remote = remote;
  if (entry.value.in_shm) {
    entry.generation = next_generation_++;
    if (is_remote) {
      entry.where = Where::kRemote;  // No local bytes: neither counted nor spillable.
    } else {
      entry.where = Where::kMemory;
      used_ += entry.value.shm_size;
      TouchEntry(id, entry);
    }
  }
  bool fetch = false;
  if (!entry.waiters.empty()) {  // Most puts and returns have none: no moves, no second lookup.
    std::vector<Waiter> run = std::move(entry.waiters);
    entry.waiters.clear();
    if (is_remote) {
      // Those waiting for a remote value to be here wait on, for the fetch they start below.
      std::vector<Waiter> all = std::move(run);
      run.clear();
      for (Waiter& w : all) (w.available ? entry.waiters : run).push_back(std::move(w));
      fetch = !entry.waiters.empty();
    }
    // A waiter may free the entry (dropping a hold), so the entry is not touched after this.
    for (Waiter& w : run) w.cb();
    it = objects_.find(id);
  }
  bool kept = false;
  if (it != objects_.end()) {
    if (fetch && it->second.ready && it->second.where == Where::kRemote) {
      StartPull(id, it->second);
      kept = MaybeFree(id);  // The pull may have added entries: it is looked up again.
    } else {
      kept = MaybeFreeAt(it);
    }
  }
  Evict();
  return kept;
}

bool ObjectTable::IsReady(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.ready;
}

bool ObjectTable::IsAvailable(const ObjectID& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready) return false;
  const Entry& e = it->second;
  return !e.value.in_shm || e.where == Where::kMemory || e.where == Where::kSpilling;
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
  entry.waiters.push_back(Waiter{handle, false, std::move(cb)});
  NeedLost(id);
  return handle;
}

void ObjectTable::NeedLost(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.lost) return;
  it->second.lost = false;
  if (lost_handler_) {
    lost_handler_(id);
  } else {
    Seal(id, StoredValue{ValueKind::kSystemError,
                         SystemErrorText(SystemErrorCode::kObjectLost,
                                         "the copies of object " + id.Hex() + " were lost")});
  }
}

StatusOr<bool> ObjectTable::DropCopies(const ObjectID& id) {
  auto it = objects_.find(id);
  // A freed object has no copies, and must not become lost: its task would run again.
  if (it == objects_.end() || !it->second.ready || IsFreed(id)) return false;
  Entry& entry = it->second;
  if (entry.value.in_shm && entry.where == Where::kRestoring) {
    return FailedPrecondition("object " + id.Hex() + " is being restored from its spill file");
  }
  RAYX_LOG(Debug) << "dropping the copies of object " << id.Hex();
  MakeLost(id, entry);
  // Waiters for a fetch that is now ignored (its generation is gone) need the object now.
  it = objects_.find(id);
  if (it != objects_.end() && !it->second.waiters.empty()) NeedLost(id);
  return true;
}

bool ObjectTable::Free(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || IsFreed(id)) return false;
  RAYX_LOG(Debug) << "freeing object " << id.Hex() << " by hand";
  Entry& entry = it->second;
  if (entry.ready) {
    // This node no longer needs the copy its value came from.
    NodeID remote = entry.remote;
    // A spill, restore or fetch in flight finds the entry changed (not in memory, not in shared
    // memory any more) and removes its file when it ends.
    MakeLost(id, entry);
    if (!remote.IsNil() && remote_free_listener_) remote_free_listener_(id, remote);
  }
  it = objects_.find(id);
  if (it == objects_.end()) return true;
  it->second.lost = false;  // Freed, not lost: nothing rebuilds it.
  Seal(id, StoredValue{ValueKind::kSystemError,
                       SystemErrorText(SystemErrorCode::kObjectFreed,
                                       "object " + id.Hex() +
                                           " was manually freed using the internal `free` call. "
                                           "Please ensure that `free` is only called once the "
                                           "object is no longer needed.")});
  return true;
}

bool ObjectTable::IsFreed(const ObjectID& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready) return false;
  const StoredValue& value = it->second.value;
  return value.kind == ValueKind::kSystemError &&
         value.inline_data.rfind(SystemErrorName(SystemErrorCode::kObjectFreed), 0) == 0;
}

void ObjectTable::MakeLost(const ObjectID& id, Entry& entry) {
  ReleaseFiles(id, entry);
  std::vector<ObjectID> contained = std::move(entry.value.contained);
  std::vector<ActorID> actors = std::move(entry.value.contained_actors);
  entry.value = StoredValue();
  entry.ready = false;
  entry.lost = true;
  entry.where = Where::kMemory;
  entry.has_spill_file = false;
  entry.lru_tick = 0;
  entry.remote = NodeID();
  // The objects its value held references to lose that hold (a rebuilt value holds them again).
  ReleaseContained(contained);
  if (pin_actor_) {
    for (const ActorID& actor : actors) pin_actor_(actor, -1);
  }
  RunRoomWaiters();
}

std::vector<ObjectID> ObjectTable::RemoteAt(const NodeID& node) const {
  std::vector<ObjectID> ids;
  for (const auto& [id, entry] : objects_) {
    if (!Location(id).IsNil() && entry.remote == node) ids.push_back(id);
  }
  return ids;
}

NodeID ObjectTable::Location(const ObjectID& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready || !it->second.value.in_shm) return NodeID();
  const Entry& entry = it->second;
  if (entry.where != Where::kRemote && entry.where != Where::kPulling) return NodeID();
  return entry.remote;
}

void ObjectTable::CreateLost(const ObjectID& id) {
  auto [it, created] = objects_.try_emplace(id);
  if (created) it->second.lost = true;
}

void ObjectTable::CreateBorrowed(const ObjectID& id, const NodeID& lender) {
  auto [it, created] = objects_.try_emplace(id);
  if (created) it->second.lender = lender;
}

NodeID ObjectTable::Lender(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it == objects_.end() ? NodeID() : it->second.lender;
}

std::vector<ObjectID> ObjectTable::LentBy(const NodeID& node) const {
  std::vector<ObjectID> ids;
  for (const auto& [id, entry] : objects_) {
    if (entry.lender == node) ids.push_back(id);
  }
  return ids;
}

bool ObjectTable::IsLost(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.lost;
}

uint64_t ObjectTable::OnAvailable(const ObjectID& id, ReadyCallback cb) {
  uint64_t handle = next_waiter_++;
  Entry& entry = objects_[id];
  if (IsAvailable(id)) {
    cb();
    return handle;
  }
  // A local value not yet sealed is in memory when it is (Seal runs waiters before it spills);
  // a remote one is fetched then.
  entry.waiters.push_back(Waiter{handle, true, std::move(cb)});
  if (!entry.ready) {
    NeedLost(id);
    return handle;
  }
  if (entry.where == Where::kSpilled) StartRestore(id, entry);
  if (entry.where == Where::kRemote) StartPull(id, entry);  // May finish before it returns.
  return handle;
}

void ObjectTable::CancelWaiter(const ObjectID& id, uint64_t handle) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  auto& waiters = it->second.waiters;
  for (auto w = waiters.begin(); w != waiters.end(); ++w) {
    if (w->handle == handle) {
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
  // An object that was kept in memory only by this pin may be spilled now.
  if (used_ > options_.capacity && options_.capacity != 0) Evict();
}

void ObjectTable::AddMapping(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it != objects_.end()) it->second.mappings++;
}

void ObjectTable::RemoveMapping(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.mappings <= 0) return;
  it->second.mappings--;
  MaybeFree(id);
  if (used_ > options_.capacity && options_.capacity != 0) Evict();
}

void ObjectTable::Touch(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it != objects_.end()) TouchEntry(id, it->second);
}

void ObjectTable::TouchEntry(const ObjectID& id, Entry& entry) {
  if (!entry.ready || !entry.value.in_shm || entry.where != Where::kMemory) return;
  if (entry.lru_tick != 0) lru_.erase(entry.lru_tick);
  entry.lru_tick = next_tick_++;
  lru_.emplace(entry.lru_tick, id);
}

bool ObjectTable::MaybeFree(const ObjectID& id) {
  auto it = objects_.find(id);
  return it != objects_.end() && MaybeFreeAt(it);
}

bool ObjectTable::MaybeFreeAt(std::unordered_map<ObjectID, Entry>::iterator it) {
  const ObjectID id = it->first;  // A copy: the entry goes.
  Entry& entry = it->second;
  if (entry.holders > 0 || entry.pins > 0 || entry.mappings > 0 || entry.contained_in > 0 ||
      !entry.waiters.empty()) {
    return true;
  }
  RAYX_LOG(Debug) << "freeing object " << id.Hex() << (entry.ready ? "" : " (pending)");
  // A pending object that nobody holds is forgotten; its value is dropped when it arrives.
  ReleaseFiles(id, entry);
  NodeID remote = entry.ready ? entry.remote : NodeID();
  NodeID lender = entry.lender;
  std::vector<ObjectID> contained =
      entry.ready ? std::move(entry.value.contained) : std::vector<ObjectID>();
  std::vector<ActorID> actors =
      entry.ready ? std::move(entry.value.contained_actors) : std::vector<ActorID>();
  objects_.erase(it);
  ReleaseContained(contained);
  if (!item_holds_.empty()) {  // Only generator objects hold items: nothing to look up otherwise.
    auto holds = item_holds_.find(id);
    if (holds != item_holds_.end()) {
      std::vector<ObjectID> items(holds->second.begin(), holds->second.end());
      item_holds_.erase(holds);
      ReleaseContained(items);
    }
  }
  if (pin_actor_) {
    for (const ActorID& actor : actors) pin_actor_(actor, -1);
  }
  RunRoomWaiters();
  if (free_listener_) free_listener_(id);
  if (!remote.IsNil() && remote_free_listener_) remote_free_listener_(id, remote);
  if (!lender.IsNil() && lender != remote && remote_free_listener_) {
    remote_free_listener_(id, lender);
  }
  return false;
}

void ObjectTable::ReleaseFiles(const ObjectID& id, Entry& entry) {
  if (entry.ready && entry.value.in_shm) {
    uint64_t size = entry.value.shm_size;
    switch (entry.where) {
      case Where::kMemory:
        lru_.erase(entry.lru_tick);
        [[fallthrough]];
      case Where::kSpilling:  // The spill finds its entry gone and removes its file.
        (void)RemoveObjectFile(PathOf(id));
        used_ -= size;
        break;
      case Where::kRestoring:  // The restore finds its entry gone and removes its file.
      case Where::kPulling:    // So does the fetch.
        used_ -= size;
        break;
      case Where::kSpilled:
      case Where::kRemote:
        break;
    }
    if (entry.has_spill_file) {
      Status s = RemoveObjectFile(SpillPathOf(id, entry.generation));
      if (!s.ok()) RAYX_LOG(Warning) << s;
      spilled_ -= size;
    }
  }
}

void ObjectTable::ReleaseContained(const std::vector<ObjectID>& contained) {
  for (const ObjectID& inner : contained) {
    auto it = objects_.find(inner);
    if (it == objects_.end()) continue;
    it->second.contained_in--;
    MaybeFree(inner);
  }
}

void ObjectTable::RunIo(std::function<Status()> work, std::function<void(Status)> done) {
  std::shared_ptr<bool> alive = alive_;
  auto guarded = [alive, done = std::move(done)](Status s) {
    if (*alive) done(s);
  };
  if (options_.io == nullptr) {
    guarded(work());
    return;
  }
  options_.io->Run(std::move(work), std::move(guarded));
}

void ObjectTable::Evict() {
  if (options_.capacity != 0 && used_ - spilling_ > options_.capacity) {
    // Chosen first and spilled after, since a spill may finish at once (without an IoPool).
    uint64_t excess = used_ - spilling_ - options_.capacity;
    std::vector<ObjectID> chosen;
    uint64_t chosen_bytes = 0;
    for (auto it = lru_.begin(); it != lru_.end() && chosen_bytes < excess; ++it) {
      const Entry& entry = objects_.at(it->second);
      if (entry.pins > 0 || entry.mappings > 0) continue;
      chosen.push_back(it->second);
      chosen_bytes += entry.value.shm_size;
    }
    for (const ObjectID& id : chosen) {
      auto it = objects_.find(id);
      if (it != objects_.end() && it->second.ready && it->second.where == Where::kMemory) {
        StartSpill(id, it->second);
      }
    }
  }
  RunRoomWaiters();
}

void ObjectTable::StartSpill(const ObjectID& id, Entry& entry) {
  uint64_t size = entry.value.shm_size;
  lru_.erase(entry.lru_tick);
  entry.lru_tick = 0;
  if (entry.has_spill_file) {
    // Spilled before and restored since: the copy on disk is still good.
    (void)RemoveObjectFile(PathOf(id));
    used_ -= size;
    entry.where = Where::kSpilled;
    return;
  }
  entry.where = Where::kSpilling;
  spilling_ += size;
  uint64_t generation = entry.generation;
  std::string src = PathOf(id), dst = SpillPathOf(id, generation);
  RunIo([src, dst] { return SpillObjectFile(src, dst); },
        [this, id, generation, size](Status s) { OnSpilled(id, generation, size, s); });
}

void ObjectTable::OnSpilled(const ObjectID& id, uint64_t generation, uint64_t size,
                            const Status& status) {
  spilling_ -= size;
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready || it->second.generation != generation ||
      it->second.where != Where::kSpilling) {
    // Freed while it was written out.
    if (status.ok()) (void)RemoveObjectFile(SpillPathOf(id, generation));
    Evict();
    return;
  }
  Entry& entry = it->second;
  if (!status.ok()) {
    // Kept in memory; the next seal tries again. Waiting puts hear of the failure.
    RAYX_LOG(Warning) << "cannot spill object " << id.Hex() << ": " << status;
    last_spill_error_ = status;
    entry.where = Where::kMemory;
    TouchEntry(id, entry);
    RunRoomWaiters();
    return;
  }
  last_spill_error_ = Status::OK();
  entry.has_spill_file = true;
  spilled_ += size;
  totals_.spill_count++;
  totals_.spill_bytes_total += size;
  if (entry.pins == 0 && entry.mappings == 0) {
    (void)RemoveObjectFile(PathOf(id));
    used_ -= size;
    entry.where = Where::kSpilled;
  } else {
    // Read while it was written out: it stays in memory, with its spill file for next time.
    entry.where = Where::kMemory;
    TouchEntry(id, entry);
  }
  Evict();
}

void ObjectTable::StartRestore(const ObjectID& id, Entry& entry) {
  entry.where = Where::kRestoring;
  used_ += entry.value.shm_size;
  uint64_t generation = entry.generation;
  std::string src = SpillPathOf(id, generation);
  std::string temp = PathOf(id) + ".restore" + std::to_string(generation);
  RunIo(
      [src, temp] {
        (void)RemoveObjectFile(temp);
        return RestoreObjectFile(src, temp);
      },
      [this, id, generation, temp](Status s) { OnRestored(id, generation, temp, s); });
}

void ObjectTable::OnRestored(const ObjectID& id, uint64_t generation, const std::string& temp,
                             const Status& restored) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready || it->second.generation != generation ||
      it->second.where != Where::kRestoring) {
    (void)RemoveObjectFile(temp);
    return;
  }
  Entry& entry = it->second;
  uint64_t size = entry.value.shm_size;
  Status status = restored;
  if (status.ok() && std::rename(temp.c_str(), PathOf(id).c_str()) != 0) {
    status = ErrnoError("rename " + temp, errno);
  }
  if (status.ok()) {
    entry.where = Where::kMemory;
    totals_.restore_count++;
    totals_.restore_bytes_total += size;
    TouchEntry(id, entry);
  } else {
    // The value cannot be read back: it becomes an error that says so, and its file goes.
    RAYX_LOG(Warning) << "cannot restore object " << id.Hex() << ": " << status;
    (void)RemoveObjectFile(temp);
    used_ -= size;
    (void)RemoveObjectFile(SpillPathOf(id, generation));
    spilled_ -= size;
    entry.has_spill_file = false;
    std::string code =
        status.code() == StatusCode::kOutOfMemory ? "OBJECT_STORE_FULL" : "OBJECT_LOST";
    entry.value.kind = ValueKind::kSystemError;
    entry.value.in_shm = false;
    entry.value.shm_size = 0;
    entry.value.inline_data =
        code + ": object " + id.Hex() + " could not be restored: " + status.ToString();
  }
  std::vector<Waiter> waiters = std::move(entry.waiters);
  entry.waiters.clear();
  for (Waiter& w : waiters) w.cb();
  MaybeFree(id);
  Evict();
}

void ObjectTable::StartPull(const ObjectID& id, Entry& entry) {
  // Counted from the start, as a restore is, so that the store's room includes what comes in.
  entry.where = Where::kPulling;
  uint64_t size = entry.value.shm_size;
  used_ += size;
  uint64_t generation = entry.generation;
  if (!fetcher_) {
    OnPulled(id, generation, Unavailable("this node cannot fetch objects from other nodes"));
    return;
  }
  std::string path = PullPathOf(id, generation);
  std::shared_ptr<bool> alive = alive_;
  RAYX_LOG(Debug) << "fetching object " << id.Hex() << " (" << size << " bytes) from node "
                  << entry.remote.Hex();
  fetcher_(id, entry.remote, size, path, [this, alive, id, generation, path](Status s) {
    if (*alive) {
      OnPulled(id, generation, s);
    } else {
      (void)RemoveObjectFile(path);
    }
  });
}

void ObjectTable::OnPulled(const ObjectID& id, uint64_t generation, const Status& fetched) {
  std::string path = PullPathOf(id, generation);
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.ready || it->second.generation != generation ||
      it->second.where != Where::kPulling) {
    (void)RemoveObjectFile(path);  // Freed or dropped meanwhile.
    return;
  }
  Entry& entry = it->second;
  uint64_t size = entry.value.shm_size;
  Status status = fetched;
  if (status.ok() && std::rename(path.c_str(), PathOf(id).c_str()) != 0) {
    status = ErrnoError("rename " + path, errno);
  }
  if (!status.ok()) {
    // The copy on the other node is gone (it died or freed it): the object is lost, and needed.
    RAYX_LOG(Warning) << "cannot fetch object " << id.Hex() << " from node " << entry.remote.Hex()
                      << ": " << status;
    (void)RemoveObjectFile(path);
    MakeLost(id, entry);
    // Looked up again: releasing what the value held may have freed the entry (a hostile client's
    // value that holds a reference to itself did, found by //engine/node:envelope_fuzz_test).
    it = objects_.find(id);
    if (it != objects_.end() && !it->second.waiters.empty()) NeedLost(id);
    return;
  }
  entry.where = Where::kMemory;
  totals_.pull_count++;
  totals_.pull_bytes_total += size;
  TouchEntry(id, entry);
  std::vector<Waiter> waiters = std::move(entry.waiters);
  entry.waiters.clear();
  for (Waiter& w : waiters) w.cb();
  MaybeFree(id);
  Evict();
}

void ObjectTable::OnRoom(std::function<void(Status)> cb) {
  room_waiters_.push_back(std::move(cb));
  RunRoomWaiters();
}

void ObjectTable::AnswerRoomWaiters() {
  bool fits = options_.capacity == 0 || used_ <= options_.capacity;
  if (!fits && spilling_ > 0) return;  // Spills in flight will make room or fail.
  Status status;
  if (!fits && !last_spill_error_.ok()) {
    status = OutOfMemory("the object store holds " + std::to_string(used_) + " bytes, over its " +
                         std::to_string(options_.capacity) +
                         " bytes, and spilling to disk failed: " + last_spill_error_.ToString());
  }
  auto waiters = std::move(room_waiters_);
  room_waiters_.clear();
  for (auto& cb : waiters) cb(status);
}

std::vector<ObjectEntryInfo> ObjectTable::List() const {
  auto count = [](int64_t n) { return static_cast<uint32_t>(std::max<int64_t>(n, 0)); };
  std::vector<ObjectEntryInfo> list;
  list.reserve(objects_.size());
  for (const auto& [id, entry] : objects_) {
    ObjectEntryInfo info;
    info.id = id;
    info.holders = count(entry.holders);
    info.pins = count(entry.pins);
    info.mappings = count(entry.mappings);
    info.contained_in = count(entry.contained_in);
    if (entry.lost) {
      info.state = ObjectState::kLost;
    } else if (!entry.ready) {
      info.state = ObjectState::kPending;
    } else if (entry.value.in_shm) {
      info.size = entry.value.shm_size;
      switch (entry.where) {
        case Where::kMemory:
        case Where::kSpilling:
          info.state = ObjectState::kInMemory;
          break;
        case Where::kSpilled:
        case Where::kRestoring:
          info.state = ObjectState::kSpilled;
          break;
        case Where::kRemote:
        case Where::kPulling:
          info.state = ObjectState::kRemote;
          break;
      }
    } else {
      info.size = entry.value.inline_data.size();
      info.state =
          entry.value.kind == ValueKind::kValue ? ObjectState::kInline : ObjectState::kError;
    }
    list.push_back(info);
  }
  return list;
}

ObjectStoreStats ObjectTable::Stats() const {
  ObjectStoreStats stats = totals_;
  stats.capacity = options_.capacity;
  stats.shm_bytes = used_;
  stats.spilled_bytes = spilled_;
  for (const auto& [id, entry] : objects_) {
    if (!entry.ready) continue;
    stats.num_objects++;
    if (!entry.value.in_shm) {
      stats.inline_bytes += entry.value.inline_data.size();
    } else if (entry.where == Where::kRemote || entry.where == Where::kPulling) {
      stats.num_remote++;
    } else if (entry.where == Where::kSpilled) {
      stats.num_spilled++;
    } else {
      stats.num_in_memory++;
    }
  }
  return stats;
}

}  // namespace rayx
