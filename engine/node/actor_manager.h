// ActorManager: the life of every actor on a node, and the forwarding of its method calls.
//
// Creation: once the constructor's argument objects are ready, the actor leases a worker of its
// own and its placement resources from the TaskManager and sends it the creation task. When the
// constructor returns, the placement resources are given back unless the actor holds resources
// for its life (lifetime resources: its explicit num_cpus, GPUs, custom resources).
//
// Calls: a method call goes to the actor's queue, in the order the node received it. While the
// actor is alive, the queue is drained straight to its worker's connection (no scheduling); a
// call whose argument objects are not ready holds back the calls behind it, so that one caller's
// calls run in the order made. Calls queue while the actor is being created or restarted.
//
// Death: when the worker dies, the calls it was running are sent again after the restart while
// max_task_retries allow, else they fail with ACTOR_DIED; the actor restarts (constructor again)
// while max_restarts allow, else it is dead and every later call fails with ACTOR_DIED. Kill ends
// the process; with no_restart the actor is dead for good. A named actor's name is freed when it
// is dead.
//
// Lifetime (Ray's): a non-detached actor ends when every handle to it is gone, or when the
// session (connection) that created it, its owner, closes. Handles are counted per process, as
// object references are (a process tells the node when it begins and stops holding handles to an
// actor), and handles in flight are counted too: inside the arguments of a queued or running task
// or call, and inside stored objects. An actor whose last handle goes while calls are queued or
// running ends when they are done. A detached actor lives until it is killed or the node stops.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/node/actor_names.h"
#include "engine/node/lineage_recorder.h"
#include "engine/node/task_manager.h"
#include "engine/node/task_spec.h"
#include "engine/objects/object_table.h"
#include "engine/wire/protocol_generated.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

// The largest handle metadata an actor may have (CreateActor): it travels in every ActorReply.
inline constexpr size_t kMaxHandleMetaSize = 1u << 20;

class ActorManager {
 public:
  struct ActorInfo {
    ActorID id;
    std::string handle_meta;
  };

  ActorManager(ObjectTable* objects, WorkerPool* pool, TaskManager* tasks,
               const std::unordered_map<std::string, std::string>* functions);
  ~ActorManager();

  // Creates an actor for session (its creator), or with get_if_exists finds the live one of that
  // name. Either way session holds a handle to it from then on (its client counts that hold as
  // its first). AlreadyExists when the name is taken; ProtocolError for a malformed request.
  StatusOr<ActorInfo> Create(uint64_t session, const wire::CreateActor* create);
  // The live actor of this name. NotFound when there is none.
  StatusOr<ActorInfo> Lookup(const std::string& ns, const std::string& name) const;
  // The (namespace, name) of every named actor here that is not dead (one being created or
  // restarted is listed: its name is taken), in ns or with all_namespaces in any; sorted.
  std::vector<std::pair<std::string, std::string>> ListNames(const std::string& ns,
                                                             bool all_namespaces) const {
    return names_.List(ns, all_namespaces);
  }

  // A method call (spec.actor_id set). Its return objects must be registered already. A call whose
  // ExecuteTask would pass the frame limit fails (UNSCHEDULABLE) when its turn comes; a creation
  // task that would, kills the actor.
  Status Submit(TaskSpec spec);
  void Kill(const ActorID& id, bool no_restart);
  // Kills for good the actors placed in the placement group whose hex this is (their placement or
  // lifetime resources name it, placement_group_resources.h): its removal.
  void KillPlacementGroupActors(const std::string& hex, const std::string& why);

  // Cancellation of calls, as Ray does for actor tasks. A call not sent to the actor's worker yet
  // ends now with TASK_CANCELLED; one sent is named to the worker (CancelTask, never a signal),
  // which does not run it if it has not started, cancels its coroutine on an async actor, and
  // lets it run on otherwise (a sync or threaded actor's state is not interrupted). A cancelled
  // call is not retried when its worker dies. HasCall: task_id is a call here not finished yet.
  // CancelCall returns true when the call goes on for now (it was sent to the worker).
  bool HasCall(const TaskID& task_id) const;
  bool CancelCall(const TaskID& task_id);
  // Appends the unfinished calls that parent submitted (for cancellation; walks every call).
  void AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const;

  // True when worker runs an actor; its TaskDone then comes here.
  bool OwnsWorker(const Worker* worker) const { return by_worker_.count(worker->id) != 0; }
  Status OnTaskDone(Worker* worker, const wire::TaskDone* done);
  // Returns true when the worker was an actor's.
  bool OnWorkerExit(Worker* worker);

  // A task, call or stored value carries a handle to the actor (+1), or no longer does (-1).
  void PinActor(const ActorID& id, int delta);
  // Ends the actors that lost their last reference since the last call (see Lifetime above).
  // Called by the node at the end of each event, never from inside the manager's own work.
  void CollectUnreferenced();

  void AddHolder(uint64_t session, const ActorID& id);
  void RemoveHolder(uint64_t session, const ActorID& id);
  // The session closed: its handles are gone, and actors it created may die with it.
  void OnSessionClosed(uint64_t session);
  // Where creations' and calls' state changes are logged; it outlives the manager.
  void SetLineageRecorder(LineageRecorder* lineage) { lineage_ = lineage; }

  size_t num_alive() const;

 private:
  enum class State { kWaitingForArgs, kPlacing, kCreating, kAlive, kDead };
  struct Call {
    TaskSpec spec;
    int retries_left = 0;  // -1: for ever.
    uint32_t attempt = 0;  // One more each time it is sent again after its worker died.
    bool cancelled = false;
  };
  struct Actor;

  Actor* Find(const ActorID& id);
  void OnCreationArgReady(const ActorID& id);
  void Place(Actor* actor);
  void OnPlaced(const ActorID& id, Worker* worker, const Allocation& allocation);
  // Sends queued calls to the worker while the actor is alive and their arguments are ready.
  void Pump(Actor* actor);
  void SendCall(Actor* actor, Call* call);
  // The values of spec's dependencies. REQUIRES: each is ready (and pinned).
  std::vector<const StoredValue*> DependencyValues(const TaskSpec& spec) const;
  // The actor's worker is gone (died or killed): restart or die.
  void OnActorWorkerLost(Actor* actor, const std::string& why);
  void Die(Actor* actor, const std::string& why);
  void FailCall(Call* call, const std::string& why);
  void FailCancelled(Call* call);
  void FinishCall(Call* call, std::vector<StoredValue> results);
  void ReleaseResources(Actor* actor);
  void MaybeCollect(Actor* actor);

  ObjectTable* objects_;
  LineageRecorder* lineage_ = nullptr;
  WorkerPool* pool_;
  TaskManager* tasks_;
  const std::unordered_map<std::string, std::string>* functions_;
  ActorNames names_;
  std::unordered_map<ActorID, std::unique_ptr<Actor>> actors_;
  std::unordered_map<WorkerID, ActorID> by_worker_;
  std::unordered_set<ActorID> to_check_;  // Actors that may have lost their last reference.
};

}  // namespace rayx
