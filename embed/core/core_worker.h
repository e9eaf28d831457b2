// CoreWorker: what a driver or worker process knows and does as a client of its node, without
// Python: its connection, the ids it makes, its reference counts, and how values are written to
// and read from the node (inline in messages, or as shared-memory files in the session directory).
//
// Ids are deterministic: the n-th task a task submits, and the n-th object it puts, have the same
// ids on every run.
//
// Direct submission (core_worker_direct.cc): a task with no object references among its
// arguments, one return and no GPU goes straight to a worker this process leases from the node for
// its resource shape, when that worker is idle; its result comes back on that link and is kept
// here, so that a get of it never asks the node. The node hears of the task after the fact, in
// the frames sent before the next message to the node (or within kRemovalDelay), and of its
// result from the worker: everything else (other processes' gets, retries, cancel) works as for
// any task. Other tasks take the node's path, and the first of a shape asks for a lease. Reference counts are per process: the node hears of an id when this process
// begins to hold it and when it lets go, not on every Python reference.
//
// Thread-safe.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "embed/core/removal_batch.h"
#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/node_connection.h"
#include "engine/objects/object_format.h"
#include "engine/objects/object_table.h"
#include "engine/objects/shm_file.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

// Values above this size go through shared memory rather than inline in messages.
constexpr size_t kInlineThreshold = 100 * 1024;

// A value to store: its parts are written as one serialized object (object_format.h).
struct OutgoingValue {
  ValueKind kind = ValueKind::kValue;
  ByteSpan data{nullptr, 0};
  std::vector<ByteSpan> buffers;
  std::vector<ObjectID> contained;
  std::vector<ActorID> contained_actors;  // Actors whose handles are inside.
};

// A value read back: inline bytes, or a read-only mapping of its shared-memory file.
struct IncomingValue {
  ValueKind kind = ValueKind::kValue;
  std::string inline_data;
  std::shared_ptr<MappedRegion> mapping;
};

struct TaskSubmission {
  std::string function_id;
  std::string name;
  ByteSpan args{nullptr, 0};
  std::vector<ObjectID> dependencies;
  std::vector<ObjectID> contained;
  std::vector<ActorID> contained_actors;  // Actors whose handles are inside.
  uint32_t num_returns = 1;
  std::map<std::string, double> resources;
  int max_retries = 0;
  bool retry_exceptions = false;
  // A method call: the actor and the method's name (function_id is then empty).
  ActorID actor_id;
  std::string method;
};

// An actor to create: its creation task (function_id names the exported class, resources are
// what placing it takes) and its options (see CreateActor in protocol.fbs).
struct ActorCreation {
  TaskSubmission task;
  std::map<std::string, double> lifetime_resources;
  int max_restarts = 0;
  int max_task_retries = 0;
  int max_concurrency = 1;
  std::string name;
  std::string ns;
  bool detached = false;
  bool get_if_exists = false;
  std::string handle_meta;
};

struct ActorLookup {
  ActorID id;
  std::string handle_meta;
};

// Tells the node when this process stops mapping a shared-memory object (and, for a task's
// arguments, when it starts): a mapped object is pinned in the node's memory. Shared by the
// CoreWorker and every mapping it handed out, since a mapping (a numpy array) may outlive the
// connection. Thread-safe.
class MappingReporter {
 public:
  explicit MappingReporter(NodeConnection* connection) : connection_(connection), pid_(getpid()) {}
  // Does nothing in a forked child, whose mappings are its own and whose socket is its parent's.
  void Report(const ObjectID& id, bool mapped);
  void Detach();  // The connection is going: later reports are dropped.

 private:
  std::mutex mu_;
  NodeConnection* connection_;  // GUARDED_BY(mu_)
  const pid_t pid_;             // The process that owns the connection.
};

// Node-wide object store figures (ObjectStoreStatsReply).
struct StoreStats {
  uint64_t capacity = 0, used = 0, num_objects = 0, num_in_memory = 0, num_spilled = 0;
  uint64_t spilled_bytes = 0, spill_count = 0, spill_bytes_total = 0;
  uint64_t restore_count = 0, restore_bytes_total = 0;
  std::string store_dir, spill_dir;
};

// What a task's spec carries besides the submission itself.
struct SpecExtras {
  const WorkerID* direct_worker = nullptr;  // A direct task: the leased worker it was sent to.
  bool actor_creation = false;              // An actor's creation task: no returns.
  int max_concurrency = 0;                  // Creation only.
};
// The spec of a task as the node and workers read it.
flatbuffers::Offset<wire::TaskSpec> BuildTaskSpec(flatbuffers::FlatBufferBuilder& b,
                                                  const TaskSubmission& task, const TaskID& task_id,
                                                  uint32_t depth, const SpecExtras& extras = {});
// Resource amounts as messages carry them.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> PackResources(
    flatbuffers::FlatBufferBuilder& b, const std::map<std::string, double>& resources);
// The resource shape a task may be submitted directly under, or "" when it must take the node's
// path (object references in its arguments, an actor call, several returns, GPUs).
std::string DirectShape(const TaskSubmission& task);

class CoreWorker {
 public:
  ~CoreWorker();
  static StatusOr<std::unique_ptr<CoreWorker>> Connect(const std::string& socket_path,
                                                       wire::Role role, const WorkerID& worker_id);

  const WelcomeInfo& welcome() const { return connection_->welcome(); }
  JobID job_id() const;
  // The task the calling thread runs: set per thread by SetCurrentTask, else the process's own
  // (the driver's task in a driver, nil in a worker).
  TaskID current_task() const;
  // Worker: the task the calling thread now runs (nil between tasks). Resets the calling thread's
  // submission and put counters; the ids of what it submits and puts derive from task_id.
  // depth is the task's depth in the task tree (0: submitted by a driver); without one, the depth
  // of the last task the node sent this process is used (threads of a concurrent actor).
  // attempt tells attempts of one task apart (the retries it had left when it was sent): the
  // tasks each attempt submits get ids of their own, so that a retry's children never collide
  // with those of an attempt that died, which may still be known to the node.
  void SetCurrentTask(const TaskID& task_id, std::optional<uint32_t> depth = std::nullopt,
                      uint32_t attempt = 0);

  // Stores a new object. The node counts this process as its holder from the start; the first
  // AddRef of the id takes that hold over without another message. A large object is written to
  // shared memory, then the node is told and answers once it has room (it may spill to make it);
  // OutOfMemory (OBJECT_STORE_FULL) when neither memory nor disk can hold it.
  StatusOr<ObjectID> Put(const OutgoingValue& value);
  StatusOr<std::vector<IncomingValue>> Get(const std::vector<ObjectID>& ids, int64_t timeout_ms,
                                           bool* timed_out);
  StatusOr<std::vector<bool>> Wait(const std::vector<ObjectID>& ids, uint32_t num_returns,
                                   int64_t timeout_ms);
  // Reference counts of this process. The node hears of 0 -> 1 at once (or not at all, when the
  // id was made here or its removal is still waiting) and of 1 -> 0 with the next frame this
  // process sends, or after kRemovalDelay when it sends none (see RemovalBatch).
  void AddRef(const ObjectID& id);
  void RemoveRef(const ObjectID& id);

  Status ExportFunction(const std::string& function_id, ByteSpan blob);
  // Returns the return object ids, held by this process from the start as with Put.
  StatusOr<std::vector<ObjectID>> SubmitTask(const TaskSubmission& task);
  Status Cancel(const ObjectID& id, bool force);

  // Creates an actor (or finds the live one of that name with get_if_exists). InvalidArgument
  // when the name is taken.
  StatusOr<ActorLookup> CreateActor(const ActorCreation& creation);
  // The live actor of this name; InvalidArgument when there is none.
  StatusOr<ActorLookup> GetActor(const std::string& name, const std::string& ns);
  Status KillActor(const ActorID& id, bool no_restart);
  // Handle counts per actor; the node hears of 0 <-> 1 changes.
  void AddActorRef(const ActorID& id);
  void RemoveActorRef(const ActorID& id);
  // The InfoReply frame.
  StatusOr<std::string> Info();

  // Worker: the next ExecuteTask frame, or nullopt when the node is gone.
  std::optional<std::string> NextTask(bool* interrupted = nullptr);
  // See NodeConnection::SetInterruptCheck. Call before other threads use this worker.
  void SetInterruptCheck(NodeConnection::InterruptCheck check) {
    connection_->SetInterruptCheck(std::move(check));
  }
  Status TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results, bool retry);
  // Reads a value that arrived inside a message. A shared-memory value is mapped; the node is told
  // when the mapping goes. report_mapped: tell the node of the mapping too (a task's arguments;
  // the node counts the mappings of its get replies itself).
  StatusOr<IncomingValue> ReadValue(const wire::ObjectValue* value, bool report_mapped) const;
  StatusOr<StoreStats> ObjectStoreStats();

  void Disconnect() { connection_->Close(); }
  // See NodeConnection::AbandonInForkedChild; the CoreWorker must then be leaked, not destroyed.
  void AbandonInForkedChild() { connection_->AbandonInForkedChild(); }
  // Tasks sent straight to a leased worker so far.
  uint64_t direct_task_count() const { return direct_task_count_.load(); }

 private:
  explicit CoreWorker(std::unique_ptr<NodeConnection> connection);
  // Adds value to builder, inline or after writing its shared-memory file.
  StatusOr<flatbuffers::Offset<wire::ObjectValue>> BuildValue(flatbuffers::FlatBufferBuilder& b,
                                                              const ObjectID& id,
                                                              const OutgoingValue& value,
                                                              bool* in_shm = nullptr);
  // The frames that must reach the node before anything else this process sends: the pending
  // frames, then a RefCountUpdate of the waiting removals; headers included; "" when none wait.
  // REQUIRES: order_mu_ is held, mu_ is not.
  std::string TakeRemovals();
  // A message about to go to the node names these ids: the ones that are results of this
  // process's direct tasks go to the node from here (a promotion) now, or as soon as they arrive,
  // so that nobody at the node waits for the workers' batched reports. Each is promoted once.
  void PromoteNamed(const std::vector<ObjectID>& ids);
  // Appends a promotion (PutObject) of a direct task's result to the pending frames.
  // REQUIRES: mu_ is held.
  void AppendPromotion(const ObjectID& id, ValueKind kind, std::string_view data);
  // Send and Call of the connection, with the waiting removals sent first.
  Status SendToNode(std::string_view envelope);
  StatusOr<std::string> CallNode(uint64_t request_id, std::string_view envelope);
  // Sends the pending frames and waiting removals now, if any (see TakeRemovals).
  void FlushRemovals();
  // The flusher thread: sends removals that waited kRemovalDelay for a frame to travel with.
  void FlushLoop();
  void SendRefUpdate(const ObjectID& id, bool added);
  void SendActorRefUpdate(const ActorID& id, bool added);
  TaskID NextTaskId();
  StatusOr<ActorLookup> ActorCall(uint64_t request_id, std::string_view envelope);

  // Direct submission (core_worker_direct.cc).
  struct Lease {
    uint64_t key = 0;
    std::string shape;
    WorkerID worker_id;
    uint64_t link = 0;  // 0 until granted and reached.
    bool granted = false;
    bool revoked = false;
    // Two per direct task, from sending it until its result has come and its announcement is in
    // the pending frames (so that the lease never goes back to the node before the announcement
    // of a task that ran on it).
    uint32_t in_flight = 0;
    std::chrono::steady_clock::time_point idle_since;
    std::unordered_set<std::string> functions_sent;
  };
  // Where a direct task goes: a leased worker and this process's link to it.
  struct DirectTarget {
    uint64_t link = 0;
    WorkerID worker_id;
    std::string blob;  // The function's definition, when that worker has not been sent it.
  };
  // The leased worker to send this task to now, or none (then *request_lease says whether to ask
  // for a lease). On success the task counts as in flight there.
  std::optional<DirectTarget> PickLease(const TaskSubmission& task, const TaskID& task_id,
                                        const std::string& shape, bool* request_lease);
  // The task sent to target is in the pending frames now (see Lease::in_flight); gives the lease
  // back if the node asked for it and nothing else is in flight. REQUIRES: lock holds mu_; it
  // may be released.
  void AnnouncedOn(std::unique_lock<std::mutex>& lock, const std::string& shape,
                   const DirectTarget& target);
  // Sends the task to the leased worker; false (and nothing in flight) when the link is gone.
  bool SendDirect(const DirectTarget& target, const TaskSubmission& task, const TaskID& task_id,
                  uint32_t depth);
  void RequestLease(const TaskSubmission& task, const std::string& shape);
  // Frames from links and lease messages from the node (NodeConnection::FrameHandler).
  void OnFrame(uint64_t link, std::string frame);
  void OnLeaseGranted(const wire::LeaseGranted* granted);
  void OnRevokeLease(const WorkerID& worker_id);
  void OnDirectDone(uint64_t link, const wire::TaskDone* done);
  void OnLinkClosed(uint64_t link);
  // Takes the lease out of the tables and gives it back to the node.
  // REQUIRES: lock holds mu_; it is released.
  void ReturnLease(std::unique_lock<std::mutex>& lock, const std::string& shape);
  // Gives back the leases with nothing in flight that went unused for at least min_idle.
  void ReturnIdleLeases(std::chrono::steady_clock::duration min_idle);
  // The values of ids this process has locally, or nullopt when one of them is not here.
  std::optional<std::vector<IncomingValue>> LocalValues(const std::vector<ObjectID>& ids);
  // Waits until none of ids is still running on a leased worker. False when it timed out;
  // Cancelled when interrupted.
  StatusOr<bool> WaitForDirect(const std::vector<ObjectID>& ids, int64_t timeout_ms);
  bool AnyDirectPending(const std::vector<ObjectID>& ids);  // REQUIRES: mu_ is held.

  std::unique_ptr<NodeConnection> connection_;
  std::shared_ptr<MappingReporter> reporter_;

  mutable std::mutex mu_;
  // The process's task, for threads that have none of their own (see current_task()).
  TaskID current_task_;                          // GUARDED_BY(mu_)
  // The depth of the task the node last sent; a driver's is 0, so its tasks have depth 1.
  std::atomic<uint32_t> last_depth_{0};
  std::atomic<uint64_t> direct_task_count_{0};
  uint64_t submitted_ = 0;                       // GUARDED_BY(mu_)
  uint32_t put_ = 0;                             // GUARDED_BY(mu_)
  std::unordered_map<ActorID, int64_t> actor_refs_;  // GUARDED_BY(mu_)
  std::unordered_map<ObjectID, int64_t> refs_;   // GUARDED_BY(mu_)
  // Ids this process made (put, task returns) whose first AddRef needs no message to the node.
  std::unordered_set<ObjectID> announced_;        // GUARDED_BY(mu_)
  std::unordered_map<std::string, bool> exported_;  // GUARDED_BY(mu_)

  // Direct submission. Leases by resource shape; tasks in flight on them; results kept here.
  uint64_t next_lease_key_ = 1;                                             // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::unique_ptr<Lease>> leases_;         // GUARDED_BY(mu_)
  // Shapes the node refused to lease, or whose leased worker could not be reached.
  std::unordered_set<std::string> direct_disabled_;                         // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> link_failures_;  // In a row, by shape. GUARDED_BY(mu_)
  std::unordered_map<TaskID, Lease*> direct_pending_;                       // GUARDED_BY(mu_)
  std::unordered_map<ObjectID, IncomingValue> local_values_;                // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> function_blobs_;             // GUARDED_BY(mu_)
  // Frames (headers included) that go to the node with the next frame this process sends it, or
  // within kRemovalDelay: SubmitTask frames of direct tasks; a worker's TaskDone reports of the
  // direct tasks it ran; an owner's copies of results the node may be waiting for (promotions).
  std::string pending_frames_;                                              // GUARDED_BY(mu_)
  // Direct results promoted already, and direct tasks whose result is to be promoted when it
  // arrives (see PromoteNamed).
  std::unordered_set<ObjectID> promoted_;                                   // GUARDED_BY(mu_)
  std::unordered_set<TaskID> promote_on_arrival_;                           // GUARDED_BY(mu_)
  // Worker: the link each direct task came from, to send its TaskDone back on.
  std::unordered_map<TaskID, uint64_t> task_links_;                         // GUARDED_BY(mu_)
  // Worker: the task name the node has for this worker (it prefixes the worker's output with it).
  std::string name_at_node_;                                                // GUARDED_BY(mu_)

  // Held from deciding to send a reference update (an add, or taking the waiting removals) until
  // it is sent, so that updates of one id reach the node in the order they were decided.
  // Taken before mu_, never while holding it.
  std::mutex order_mu_;
  RemovalBatch removals_;                        // GUARDED_BY(mu_)
  std::condition_variable flush_cv_;             // Signalled with mu_ held.
  bool flusher_asleep_ = false;                  // GUARDED_BY(mu_)
  bool stopping_ = false;                        // GUARDED_BY(mu_)
  std::thread flusher_;
};

}  // namespace rayx
