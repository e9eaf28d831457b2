// ObjectTable: the node's directory of objects, their values, who keeps them alive, and the
// shared-memory store's capacity with spilling to disk.
//
// An object is created pending (a task will produce it) or sealed at once (a put). Its value is
// either inline bytes or a shared-memory file in the store directory. An object stays while any
// of these hold it: a process that has a reference (holders), a queued or running task that takes
// it as an argument or a get in flight (pins), a process that maps its file (mappings), or another
// live object that contains a reference to it. When the last hold goes, the object is freed: its
// files are removed, and the objects it contained lose a hold. A value that arrives for an object
// that nobody holds any more is freed at once.
//
// Capacity: the bytes of shared-memory objects are counted against `capacity`. When they exceed
// it, the least recently used objects that are neither pinned nor mapped are spilled: copied to a
// file in the spill directory on the IoPool, then their shared-memory file is removed. A spilled
// object is restored (copied back) when a get or a task needs it (OnAvailable); it keeps its spill
// file while it lives, so spilling it again costs nothing. Objects in use (pinned or mapped) are
// never spilled, so the store goes over its capacity rather than deadlock when everything in it
// is in use; /dev/shm's own size is then the hard limit (a client's write fails cleanly).
//
// Puts are accounted after the fact: the client writes the object, then the node counts it and
// spills what is needed. This saves a round trip per put; the store is over capacity by at most
// the objects being written at once (one per client), and OnRoom lets a put wait until spilling
// has brought the store back under its capacity.
//
// Lost copies: DropCopies removes a ready object's value and files (its copies are gone, as when
// their node dies) and leaves the object lost: known, held as before, and not ready. The first
// need of a lost object (OnReady or OnAvailable: a get, a wait, a task's argument) calls the lost
// handler once, after the waiter is registered; the handler rebuilds the value (a later Seal) or
// seals an error. CreateLost makes a lost entry for an object that was freed but can be rebuilt.
//
// Freed objects: Free replaces an object's value by an OBJECT_FREED error at once, whatever holds
// it (ray._private.internal_api.free): its files and memory go, and it is ready with that error,
// never lost, so nothing rebuilds it. A pending object is sealed with the error now, and the value
// its task makes later is dropped as a second value. The entry itself stays while it is held.
//
// Generator items: SealItem stores an item a generator task yielded (return k + 1 of its task) and
// has it held by the generator object (return 0 of the same task), as if the generator's value
// contained a reference to it, until a process takes it (TakeItem: the process's own hold takes
// over) or the generator object is freed. So items that nobody took are freed with their
// generator, and a taken item lives as long as its takers hold it, while the stream goes on.
//
// Remote values: SealRemote records a value that is ready but lives in shared memory on another
// node. It is ready (OnReady waiters run, Get returns it) but not available: its first
// OnAvailable starts one fetch through the fetcher hook (SetFetcher), whatever the number of
// waiters, and they all run when the fetch ends. A fetched value is an ordinary object in memory
// (counted against the capacity, spillable). A fetch that fails means the remote copy is gone: the
// object becomes lost (as by DropCopies) and, since waiters need it, the lost handler runs at once.
// A remote value holds no local bytes: it is never spilled and nothing is removed when it is
// freed. When an object whose value came from another node is freed, the remote free listener
// hears of it, so that the owner can let that node free its copy.
//
// Thread: the node's loop thread only (file copies run on the IoPool and finish on the loop).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/objects/io_pool.h"
#include "engine/objects/object_entry_info.h"
#include "engine/wire/values.h"

namespace rayx {

struct StoredValue {
  ValueKind kind = ValueKind::kValue;
  std::string inline_data;  // The serialized object, when not in shared memory.
  bool in_shm = false;
  uint64_t shm_size = 0;
  std::vector<ObjectID> contained;        // References held inside this value.
  std::vector<ActorID> contained_actors;  // Actor handles held inside this value.
};

struct ObjectStoreStats {
  size_t num_objects = 0;    // Ready objects, wherever their value is.
  size_t num_in_memory = 0;  // Objects with a shared-memory file.
  size_t num_spilled = 0;    // Objects whose only copy is a spill file.
  uint64_t capacity = 0;     // 0: unlimited.
  uint64_t shm_bytes = 0;    // Bytes counted against the capacity now.
  uint64_t inline_bytes = 0;
  uint64_t spilled_bytes = 0;  // Bytes of spill files now.
  uint64_t spill_count = 0;    // Totals since the table was made.
  uint64_t spill_bytes_total = 0;
  uint64_t restore_count = 0;
  uint64_t restore_bytes_total = 0;
  size_t num_remote = 0;    // Ready objects whose only copy is on another node.
  uint64_t pull_count = 0;  // Fetches that succeeded, since the table was made.
  uint64_t pull_bytes_total = 0;
};

struct ObjectTableOptions {
  std::string store_dir;  // Shared-memory object files, named by object id in hex.
  std::string spill_dir;  // Spill files; must exist when capacity > 0.
  uint64_t capacity = 0;  // Bytes; 0 means no limit and no spilling.
  // Where file copies run. Null: they run inline, on the calling thread (tests).
  IoPool* io = nullptr;
};

class ObjectTable {
 public:
  using ReadyCallback = std::function<void()>;

  explicit ObjectTable(ObjectTableOptions options);
  explicit ObjectTable(std::string store_dir);  // No capacity, no spilling.
  ~ObjectTable();  // Removes every object file and spill file still present.

  // Called with +1 when a stored value holds handles to an actor and with -1 when that value is
  // freed, so that the actor lives while values that carry its handles do.
  using ActorPinFn = std::function<void(const ActorID&, int delta)>;
  void SetActorPinner(ActorPinFn pin) { pin_actor_ = std::move(pin); }

  // Called when a lost object is first needed (see above); it may seal the object at once.
  using LostHandler = std::function<void(const ObjectID&)>;
  void SetLostHandler(LostHandler handler) { lost_handler_ = std::move(handler); }
  // Called with each id whose entry is freed (after it is gone).
  using FreeListener = std::function<void(const ObjectID&)>;
  void SetFreeListener(FreeListener listener) { free_listener_ = std::move(listener); }

  // Copies the value of id from location's shared memory into a new file at path (which must not
  // exist), then calls done on the loop thread: OK when the whole file is there, else an error
  // (and nothing is left at path). done may be called before the fetcher returns. path is a
  // temporary name beside PathOf(id), one per fetch; the table renames it into place if the entry
  // still wants that fetch when it ends, and removes it otherwise.
  using Fetcher = std::function<void(const ObjectID& id, const NodeID& location, uint64_t size,
                                     const std::string& path, std::function<void(Status)> done)>;
  void SetFetcher(Fetcher fetcher) { fetcher_ = std::move(fetcher); }
  // Called after an object is freed whose value came from location (a remote value, fetched or
  // not), and for a remote value that arrives when nobody holds its object: location may free
  // its copy. Called too, with the lender, when a borrowed object is freed. Not called for
  // DropCopies (the copies are gone already).
  using RemoteFreeListener = std::function<void(const ObjectID&, const NodeID& location)>;
  void SetRemoteFreeListener(RemoteFreeListener listener) {
    remote_free_listener_ = std::move(listener);
  }

  std::string PathOf(const ObjectID& id) const;
  // A file that holds id's shared-memory value on this node now: PathOf(id) while it is in
  // memory, else its spill file. Empty when id is unknown, not ready, inline, remote or being
  // fetched. Valid until the next call that may free, spill or restore.
  std::string ReadablePath(const ObjectID& id) const;

  // Registers an object that a task will produce. A no-op if it exists.
  void CreatePending(const ObjectID& id);
  // Stores id's value and runs its waiters, then spills if the store is over capacity. A second
  // value for the same id is dropped (a retried task may finish twice). If nobody holds id, the
  // value is freed at once. Returns whether id is still here afterwards (held, pinned or waited
  // for): false when it was freed at once, or was not known.
  bool Seal(const ObjectID& id, StoredValue value);
  // Stores item, a generator task's streamed value (see Generator items above): held by
  // generator, ItemGenerator(item), from now on. When generator is unknown (freed: nobody wants
  // the stream any more) the value is dropped; when item is here already (a retried task yields
  // its items again) the value is dropped and the first one stays. An item that was taken and
  // freed before is stored and held again (a retry's worker cannot tell). Returns false when the
  // value was dropped.
  bool SealItem(const ObjectID& item, StoredValue value);
  // A process began to hold id (it has a holder now): if id is a generator's item that the
  // generator holds, the generator's hold goes, so that the item lives as long as its holders.
  void TakeItem(const ObjectID& id) {
    if (!item_holds_.empty()) TakeHeldItem(id);
  }
  // The generator object of a streamed item: return 0 of the item's task.
  static ObjectID ItemGenerator(const ObjectID& item) {
    return ObjectID::ForReturn(item.Task(), 0);
  }
  // Like Seal, for a value (in_shm, shm_size its size) that lives on the node location (see
  // Remote values above). A second value for a ready id is dropped; if it came from another
  // location than the first, the remote free listener hears of it. Returns what Seal does.
  bool SealRemote(const ObjectID& id, StoredValue value, const NodeID& location);

  // Drops the value and files of a ready object, which becomes lost (see above): true. False when
  // there is nothing to drop (id unknown, pending, lost or freed). FailedPrecondition while its
  // spill file is being restored. A remote value has no files; one being fetched keeps its waiters,
  // so the lost handler runs before DropCopies returns, and the fetch's end is ignored.
  StatusOr<bool> DropCopies(const ObjectID& id);
  // Replaces id's value by an OBJECT_FREED error (see Freed objects above) and runs its waiters:
  // true. False when id is unknown or freed already. A value that came from another node lets
  // that node free its copy (the remote free listener).
  bool Free(const ObjectID& id);
  // True when id's value is the OBJECT_FREED error of Free.
  bool IsFreed(const ObjectID& id) const;
  // The ready objects whose only copy is on node (remote, or being fetched from it).
  std::vector<ObjectID> RemoteAt(const NodeID& node) const;
  // The node that holds id's value, when it is a remote value not fetched yet; nil otherwise
  // (local, inline, unknown or not ready).
  NodeID Location(const ObjectID& id) const;
  // Creates id lost, when it is unknown (freed); a no-op otherwise.
  void CreateLost(const ObjectID& id);
  // Registers id, owned by the member lender, pending (see Borrowed objects). A no-op if it exists.
  void CreateBorrowed(const ObjectID& id, const NodeID& lender);
  // The member that keeps id alive for this node; nil for an object of this node or an unknown id.
  NodeID Lender(const ObjectID& id) const;
  // The objects that node keeps alive for this node (CreateBorrowed).
  std::vector<ObjectID> LentBy(const NodeID& node) const;
  bool IsLost(const ObjectID& id) const;

  bool Exists(const ObjectID& id) const { return objects_.count(id) != 0; }
  bool IsReady(const ObjectID& id) const;
  // True when id is ready and its value can be read now (inline or in shared memory).
  bool IsAvailable(const ObjectID& id) const;
  // The value, or nullptr when id is unknown or not ready. Valid until the next call that may free.
  // A spilled value says in_shm; only IsAvailable values may be handed to a client.
  const StoredValue* Get(const ObjectID& id) const;

  // Calls cb once, when id is sealed (at once if it is ready now). Returns a handle for
  // CancelWaiter. A waiter on an unknown id waits until it is created and sealed.
  uint64_t OnReady(const ObjectID& id, ReadyCallback cb);
  // Like OnReady, but a spilled object is restored first. The caller should pin id, so that it
  // stays in memory until it is read.
  uint64_t OnAvailable(const ObjectID& id, ReadyCallback cb);
  void CancelWaiter(const ObjectID& id, uint64_t handle);

  void AddHolder(const ObjectID& id);
  void RemoveHolder(const ObjectID& id);
  void Pin(const ObjectID& id);
  void Unpin(const ObjectID& id);
  // A process maps (or stopped mapping) id's shared-memory file.
  void AddMapping(const ObjectID& id);
  void RemoveMapping(const ObjectID& id);
  // Marks id as just used, for the choice of what to spill.
  void Touch(const ObjectID& id);

  // Calls cb once the store is within its capacity, or once spilling can do no more. The status
  // is OutOfMemory when the store stays over capacity because spilling failed for lack of disk.
  void OnRoom(std::function<void(Status)> cb);

  ObjectStoreStats Stats() const;
  // Every entry, in no particular order (for ray._private.internal_api.memory_summary).
  std::vector<ObjectEntryInfo> List() const;
  const std::string& spill_dir() const { return options_.spill_dir; }

 private:
  // kRemote: on another node only (Entry::remote); kPulling: being fetched from there.
  enum class Where : uint8_t { kMemory, kSpilling, kSpilled, kRestoring, kRemote, kPulling };
  struct Waiter {
    uint64_t handle = 0;
    bool available = false;  // OnAvailable: a remote value's seal does not end the wait.
    ReadyCallback cb;
  };
  struct Entry {
    bool ready = false;
    bool lost = false;  // Its copies were dropped and nothing has asked for it since.
    StoredValue value;
    int64_t holders = 0;
    int64_t pins = 0;
    int64_t mappings = 0;
    int64_t contained_in = 0;
    std::vector<Waiter> waiters;
    // For values in shared memory:
    uint64_t generation = 0;  // Tells a finished file copy whether its entry is still the same.
    Where where = Where::kMemory;
    bool has_spill_file = false;
    uint64_t lru_tick = 0;  // Key in lru_ while where == kMemory.
    // The node the value came from (nil: made here). It keeps a copy until told to free it.
    NodeID remote;
    // The member that owns a borrowed object (nil: this node's own).
    NodeID lender;
  };

  // Stores a ready value in entry and runs its waiters (Seal and SealRemote).
  bool SealEntry(const ObjectID& id, StoredValue value, const NodeID& remote);
  // Frees id if nothing holds, pins, maps, contains or waits for it; returns whether it is still
  // here (false: freed now, or not known).
  bool MaybeFree(const ObjectID& id);
  bool MaybeFreeAt(std::unordered_map<ObjectID, Entry>::iterator it);
  void TakeHeldItem(const ObjectID& id);
  // Makes a ready entry lost: drops its value and files and releases what the value held.
  void MakeLost(const ObjectID& id, Entry& entry);
  // Removes the files of a ready shared-memory value and their accounting.
  void ReleaseFiles(const ObjectID& id, Entry& entry);
  // Calls the lost handler if id is lost (it is not any more from then on).
  void NeedLost(const ObjectID& id);
  void ReleaseContained(const std::vector<ObjectID>& contained);
  std::string SpillPathOf(const ObjectID& id, uint64_t generation) const;

  void RunIo(std::function<Status()> work, std::function<void(Status)> done);
  void TouchEntry(const ObjectID& id, Entry& entry);
  // Starts spills until the bytes not being spilled fit, then answers OnRoom callers if it can.
  void Evict();
  void StartSpill(const ObjectID& id, Entry& entry);
  void OnSpilled(const ObjectID& id, uint64_t generation, uint64_t size, const Status& status);
  void StartRestore(const ObjectID& id, Entry& entry);
  void OnRestored(const ObjectID& id, uint64_t generation, const std::string& temp,
                  const Status& status);
  // Answers OnRoom callers if there is room, or if there will not be (called on every seal and
  // free, so the common case, nobody waiting, costs only the test).
  void RunRoomWaiters() {
    if (!room_waiters_.empty()) AnswerRoomWaiters();
  }
  void AnswerRoomWaiters();
  std::string PullPathOf(const ObjectID& id, uint64_t generation) const;
  void StartPull(const ObjectID& id, Entry& entry);
  void OnPulled(const ObjectID& id, uint64_t generation, const Status& status);

  ObjectTableOptions options_;
  std::unordered_map<ObjectID, Entry> objects_;
  // Generator objects that hold streamed items (SealItem), with the items they hold.
  std::unordered_map<ObjectID, std::unordered_set<ObjectID>> item_holds_;
  uint64_t next_waiter_ = 1;
  uint64_t next_generation_ = 1;
  uint64_t next_tick_ = 1;
  std::map<uint64_t, ObjectID> lru_;  // Objects in memory, least recently used first.
  uint64_t used_ = 0;                 // Bytes of shared-memory files (counted against capacity).
  uint64_t spilling_ = 0;             // Bytes being spilled now (still in used_).
  uint64_t spilled_ = 0;              // Bytes of spill files now.
  Status last_spill_error_;
  std::vector<std::function<void(Status)>> room_waiters_;
  ObjectStoreStats totals_;
  // Set to false when the table goes, so that file copies that finish later do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  ActorPinFn pin_actor_;
  LostHandler lost_handler_;
  FreeListener free_listener_;
  Fetcher fetcher_;
  RemoteFreeListener remote_free_listener_;
};

}  // namespace rayx
