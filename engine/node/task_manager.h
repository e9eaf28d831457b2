// TaskManager: the life of every task on a node, from submission to its results.
//
// A submitted task waits for its argument objects, then for resources (ReadyQueue), then for an
// idle worker, which is sent ExecuteTask. When the worker reports TaskDone, the results are
// stored and the resources and worker freed. A task whose argument is an error gets that error
// as its result without running. A worker that dies while running a task has the task retried
// while retries remain (max_retries=-1: for ever), else the results become a WORKER_DIED error.
// Each run of a task is an attempt, numbered from 0 and sent in ExecuteTask, from which the ids of
// the tasks it submits derive. A worker blocked in get gives its CPU back so that the tasks it
// waits for can run; the pool grows past the CPU count for them.
//
// Direct submission (protocol.fbs): an owner may lease an idle worker (LeaseToOwner) and send it
// tasks itself. The owner tells the node of each such task after the fact (SubmitDirect) and the
// worker reports its TaskDone to the node as well, in either order; from there the task is like
// any other running task (retried when its worker dies, cancelled by signal). When other work
// waits for resources, owners are asked to give their leases back (revoke).
//
// Lineage: the spec of each task that ran to success (not an actor's, not a lease) is kept while
// one of its returns exists, or while the lineage of a task that took one of them as an argument
// is kept. When a lost object (ObjectTable::DropCopies) is needed, the task that made it runs
// again from that spec, within what is left of its retry budget (max_retries, shared with the
// retries after worker deaths); its lost arguments are rebuilt the same way when it needs them.
// A put object, or a result with no lineage or no budget left, becomes an OBJECT_LOST error.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/node/cancel_resignal.h"
#include "engine/node/lineage_recorder.h"
#include "engine/node/remote_runner.h"
#include "engine/node/task_spec.h"
#include "engine/objects/object_table.h"
#include "engine/sched/node_resources.h"
#include "engine/sched/ready_queue.h"
#include "engine/wire/protocol_generated.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

class TaskManager {
 public:
  // functions maps function ids to their serialized definitions; it outlives the manager.
  // report prints a message for the user (an infeasible task, for example).
  TaskManager(ObjectTable* objects, WorkerPool* pool,
              const std::unordered_map<std::string, std::string>* functions,
              const ResourceSet& total, std::function<void(const std::string&)> report);
  ~TaskManager();

  // Takes a task; its return objects must already be registered with the object table. A task
  // whose ExecuteTask would pass the frame limit fails (UNSCHEDULABLE) once its arguments are
  // ready.
  Status Submit(TaskSpec spec);
  // A worker finished its task; frame holds done (kept when done arrives before the owner's
  // SubmitDirect).
  Status OnTaskDone(Worker* worker, const wire::TaskDone* done, std::string_view frame);
  // True when done is the report of a direct task that worker's last lease still waits for. A
  // worker given back idle may be made an actor's before those reports come (they are batched),
  // and they are this manager's, not the actor's.
  bool AwaitsDirectReport(Worker* worker, const wire::TaskDone* done) const;
  void OnWorkerReady(Worker* worker);
  void OnWorkerExit(Worker* worker);
  // A worker running a task waits in get or wait (blocked) or stopped waiting.
  void OnWorkerBlocked(Worker* worker);
  void OnWorkerUnblocked(Worker* worker);
  // Cancels task_id (not an actor's call): at once if it has not started, by SIGINT to its worker
  // (KeyboardInterrupt) if it runs, or by killing the worker with force; a task sent to a member
  // is cancelled there (recursive: with the tasks it submitted there). Returns true when the task
  // goes on for now (it runs, here or there, and may still submit tasks), false when it was
  // finished here or is unknown (finished already, or never here).
  bool Cancel(const TaskID& task_id, bool force, bool recursive);
  // Whether task_id is a task of this manager that has not finished.
  bool HasTask(const TaskID& task_id) const;
  // Appends the unfinished tasks that parent submitted (TaskSpec::parent). Walks every task: for
  // cancellation only.
  void AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const;

  // Leases a worker and resources for an actor. When demand is free and a worker idle,
  // on_granted(worker, allocation) runs; from then on the worker and the allocation are the
  // caller's: it gives the resources back with ReleaseAllocation, and the worker never returns to
  // the idle list. on_failed(why) runs instead when no worker can be had (workers cannot be
  // started, see MaybeStartWorkers). Returns a key for CancelLease.
  using LeaseCallback = std::function<void(Worker*, const Allocation&)>;
  using LeaseFailedCallback = std::function<void(const std::string& why)>;
  StatusOr<uint64_t> Lease(const std::string& name, const ResourceSet& demand,
                           LeaseCallback on_granted, LeaseFailedCallback on_failed = nullptr);
  // Drops a lease that was not granted yet (granted or unknown keys are ignored).
  void CancelLease(uint64_t key);
  // Gives back resources that a granted lease held.
  void ReleaseAllocation(const Allocation& allocation);

  // Hands a granted lease (see Lease) over to an owner for direct submission. revoke asks the
  // owner to give it back; it is called at most once.
  void LeaseToOwner(Worker* worker, const Allocation& allocation, std::function<void()> revoke);
  // The owner gives the worker back. worker_idle: the owner has the results of every task it
  // sent there, so the worker goes idle now (their reports may still be on the way); else once
  // the node has heard that they are done.
  void ReturnLease(Worker* worker, bool worker_idle);
  // The owner sent this task to spec.direct_worker, leased to it. A worker that is gone (or was
  // never leased) counts as one that died running the task.
  Status SubmitDirect(TaskSpec spec, bool leased);

  // Every copy of id is gone (DropObjectCopies; a dead node's, later): the object becomes lost
  // (ObjectTable::DropCopies), and the tasks waiting to run that take it as an argument wait for
  // it again, which rebuilds it. False when id had no copy (unknown, pending or lost already).
  StatusOr<bool> LoseCopies(const ObjectID& id);
  // How many tasks' lineage is kept, and how many tasks ran again to rebuild lost objects.
  size_t num_lineage() const { return lineage_.size(); }
  uint64_t num_rebuilt() const { return num_rebuilt_; }

  // Starts n workers ahead of demand, so that the first tasks do not wait for a process to start.
  void Prestart(size_t n);

  // Called with +1 for each actor whose handle a task's arguments carry when the task arrives, and
  // with -1 when it is done, so that the actor outlives the handles in flight.
  void SetActorPinner(ObjectTable::ActorPinFn pin) { pin_actor_ = std::move(pin); }

  // With peers: where tasks may run besides here (remote_runner.h); it outlives the manager.
  void SetRemoteRunner(RemoteRunner* remote) { remote_ = remote; }
  // A cancelled running task is sent SIGINT again every second until it ends (cancel_resignal.h).
  // Loop thread. Without it (unit tests), once.
  void EnableCancelResignal(EventLoop* loop);
  // A task sent to another member (key from RemoteRunner::Run) finished there with results, one
  // per return (or one error value for all).
  void OnRemoteDone(uint64_t key, std::vector<RemoteResult> results);
  // The member running it died or its link closed: retried while retries remain, as a worker's.
  void OnRemoteLost(uint64_t key, const std::string& why);
  // The member refused it (it could not start it at once): placed again (RemoteRunner::Place).
  void OnRemoteRefused(uint64_t key);
  // This node could start a task that takes demand now: nothing waits for resources before it.
  bool CanStartNow(const ResourceSet& demand) const;
  // A member joined: tasks that no node could run are placed again.
  void RetryInfeasible();

  // Placement group bundles held here (task_manager_bundles.cc; NodeResources::PrepareBundle
  // says how). PrepareBundle takes bundle from what is free, or returns false. CommitBundles makes
  // the bundles' derived resources appear, and the tasks that waited for them are placed again.
  // ReturnBundles gives prepared or committed bundles back; it does not touch the work that
  // runs in them: FailGroupWork does that.
  bool PrepareBundle(const std::string& hex, int index, const ResourceSet& bundle);
  void CommitBundles(const std::string& hex, const std::vector<int>& indexes);
  void ReturnBundles(const std::string& hex, const std::vector<int>& indexes);
  // The work of the group whose hex this is: its tasks and leases that wait fail with why
  // (UNSCHEDULABLE; a lease's failure callback), its running tasks are cancelled with force
  // (their workers killed), and leases holding its resources are revoked.
  void FailGroupWork(const std::string& hex, const std::string& why);
  // Runs before each dispatch while set (not from inside itself), so that placement groups that
  // wait take freed resources before tasks do. Null to stop.
  void SetReservationHook(std::function<void()> hook) { reservation_hook_ = std::move(hook); }

  // Where the tasks' state changes are logged (lineage_recorder.h); it outlives the manager.
  void SetLineageRecorder(LineageRecorder* recorder) { recorder_ = recorder; }

  const NodeResources& resources() const { return resources_; }
  size_t num_tasks() const { return tasks_.size(); }
  // Workers leased to owners whose leases are not over: not returned, or with reports owed.
  size_t num_leases() const { return leases_.size(); }

 private:
  // kRemote: sent to another member (remote_node), which runs it.
  enum class State { kWaitingForArgs, kQueued, kRunning, kRemote };
  struct Task {
    uint64_t key = 0;
    // spec.resources is the demand; the actors of spec.contained_actors live while it waits.
    TaskSpec spec;
    // The definition of spec.function_id, found once (functions_ never drops one).
    const std::string* definition = nullptr;
    int retries_left = 0;  // -1: for ever (max_retries=-1).
    uint32_t attempt = 0;  // 0 for the first run, one more per retry or rebuild.
    State state = State::kWaitingForArgs;
    size_t args_pending = 0;
    std::vector<std::pair<ObjectID, uint64_t>> arg_waiters;
    Worker* worker = nullptr;
    Allocation allocation;
    bool cancelled = false;
    bool direct = false;     // Sent to a leased worker by its owner.
    LeaseCallback on_lease;  // Set for a lease: no function runs, the worker is handed over.
    LeaseFailedCallback on_lease_failed;
    NodeID remote_node;  // kRemote: the member running it.
    // Set as its results are sealed: whether one of them is still held (KeepLineage keeps it then).
    bool results_held = false;
  };
  // A TaskDone that came before the task's SubmitDirect, with pins on what its results hold (the
  // worker lets go of those as soon as it has reported them).
  struct EarlyDone {
    std::string frame;
    std::vector<ObjectID> contained;
    std::vector<ActorID> contained_actors;
  };
  // A worker leased to an owner.
  struct OwnerLease {
    Allocation allocation;
    std::function<void()> revoke;
    bool revoked = false;
    bool returned = false;
    bool blocked = false;
    bool worker_idle = false;  // Returned, and the worker is in the idle list (or busy again).
    std::unordered_set<uint64_t> direct_tasks;
    // TaskDone frames the worker sent before the owner's SubmitDirect came.
    std::unordered_map<TaskID, EarlyDone> early_done;
  };

  // What it takes to run a finished task again.
  struct Lineage {
    // The finished task itself (its spec is what a rebuild runs): moved here whole rather than
    // its spec copied out, which cost the node more than the rest of a task's end.
    std::unique_ptr<Task> task;
    int retries_left = 0;   // -1: for ever.
    uint32_t attempts = 0;  // Runs so far: a rebuild is the next attempt.
    int dependents = 0;     // Kept lineages of tasks that take one of its returns as an argument.
  };

  // Takes a task with retries_left as its budget (-1: for ever), as its attempt-th run.
  Status SubmitWithBudget(TaskSpec&& spec, int retries_left, uint32_t attempt = 0);
  // Keeps the lineage of a task that finished with success, if one of its returns is referenced:
  // takes *task then (it is null afterwards).
  void KeepLineage(std::unique_ptr<Task>* task);
  // Forgets the lineage of task_id when nothing needs it any more (see above).
  void MaybeDropLineage(const TaskID& task_id);
  // ObjectTable's lost handler: rebuilds id, or seals it with an OBJECT_LOST error.
  void RebuildLost(const ObjectID& id);
  // Gives task its key and spec; the checks every submission passes.
  Status Adopt(TaskSpec&& spec, Task* task);
  // Ends a task that its worker reported done (or asks for a retry).
  Status FinishRan(Task* task, const wire::TaskDone* done);
  // Ends a task that ran, here or on a member, with results: one per return, or one error value
  // for all. locations (null: every result here) names the member holding each shared-memory one.
  void FinishWithResults(Task* task, std::vector<StoredValue> results,
                         const std::vector<NodeID>* locations);
  // A running task's worker (described for messages) died: retry it, or fail it.
  void OnRunningTaskLost(Task* task, const std::string& worker);
  void RevokeLeasesIfWaiting();
  EarlyDone KeepEarly(const wire::TaskDone* done, std::string_view frame);
  void ReleaseEarly(const EarlyDone& early);
  // The direct task id of lease, when the lease still waits for the worker's report of it.
  Task* AwaitedDirectTask(const OwnerLease& lease, const TaskID& id) const;
  // Forgets a lease, and the TaskDone frames it kept.
  void EraseLease(std::unordered_map<Worker*, OwnerLease>::iterator lease);

  void OnArgReady(uint64_t key);
  void Enqueue(Task* task);
  void TryDispatch();
  bool Dispatch(Task* task, const Allocation& allocation);
  void SendExecute(Task* task, Worker* worker);
  // Frees what a running task holds on its worker; the worker goes idle unless it is dead.
  void DetachFromWorker(Task* task, bool worker_alive);
  // Stores the same value as every return of the task and forgets the task.
  void FinishWithValue(Task* task, const StoredValue& value);
  // keep_lineage: the task succeeded; its lineage is kept if needed (KeepLineage).
  void Forget(Task* task, bool keep_lineage = false);
  // Starts the workers that the tasks and leases waiting for one need. When none can be started
  // and none will come free (none starting, idle, running a task or leased to an owner), those
  // waiting fail with why (FailWaitingForWorkers) rather than wait for ever; the node goes on,
  // and the next task tries again.
  void MaybeStartWorkers();
  void FailWaitingForWorkers(const std::string& why);
  // A worker may come free: one starts, is idle, runs a task, or is leased to an owner.
  bool WorkerMayComeFree() const;

  ObjectTable* objects_;
  WorkerPool* pool_;
  const std::unordered_map<std::string, std::string>* functions_;
  NodeResources resources_;
  ReadyQueue ready_;
  std::function<void(const std::string&)> report_;
  std::set<ResourceSet> reported_infeasible_;
  std::vector<uint64_t> infeasible_;  // Tasks no node can run; kept in case one joins.

  uint64_t next_key_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Task>> tasks_;
  std::unordered_map<TaskID, uint64_t> by_id_;
  bool dispatching_ = false;
  bool start_failure_reported_ = false;  // Said once per run of failures to start a worker.
  std::unordered_map<Worker*, OwnerLease> leases_;
  ObjectTable::ActorPinFn pin_actor_;
  std::unordered_map<TaskID, Lineage> lineage_;
  uint64_t num_rebuilt_ = 0;
  LineageRecorder* recorder_ = nullptr;
  RemoteRunner* remote_ = nullptr;
  std::unique_ptr<CancelResignal> resignal_;
  std::function<void()> reservation_hook_;
  bool in_reservation_hook_ = false;
};

}  // namespace rayx
