#include "engine/node/actor_manager.h"

#include <signal.h>

#include <algorithm>
#include <map>

#include "engine/base/logging.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

bool IsEmpty(const Allocation& allocation) {
  return allocation.amounts.IsEmpty() && allocation.gpu_ids.empty();
}

}  // namespace

struct ActorManager::Actor {
  ActorID id;
  // The creation task: spec.name is the class's, spec.resources what placing the actor takes.
  TaskSpec spec;
  // spec's dependencies, contained objects and actors are pinned (until the actor is dead).
  bool pinned = false;
  ResourceSet lifetime;
  int restarts_left = 0;     // -1: for ever.
  uint32_t restarts = 0;     // Times restarted: the creation task's attempt.
  int max_task_retries = 0;  // -1: for ever.
  std::string name;
  std::string ns;
  bool detached = false;
  std::string handle_meta;

  State state = State::kWaitingForArgs;
  size_t args_pending = 0;
  std::vector<std::pair<ObjectID, uint64_t>> arg_waiters;
  uint64_t lease_key = 0;
  // The actor's worker, nil when it has none. Looked up in the pool when used, never kept as a
  // pointer: the pool may drop its workers (the node stopping) without telling anyone.
  WorkerID worker_id;
  Allocation allocation;
  std::deque<std::unique_ptr<Call>> queue;    // Not sent yet, in the order received.
  std::deque<std::unique_ptr<Call>> running;  // Sent to the worker, in the order sent.
  bool head_waiting = false;                  // The first queued call waits for an argument.
  std::pair<ObjectID, uint64_t> head_waiter;

  uint64_t creator_session = 0;
  bool creator_alive = true;
  std::unordered_set<uint64_t> holders;
  int64_t pins = 0;  // Tasks, calls and values that carry a handle.
  std::string death;
};

ActorManager::ActorManager(ObjectTable* objects, WorkerPool* pool, TaskManager* tasks,
                           const std::unordered_map<std::string, std::string>* functions)
    : objects_(objects), pool_(pool), tasks_(tasks), functions_(functions) {}

ActorManager::~ActorManager() = default;

ActorManager::Actor* ActorManager::Find(const ActorID& id) {
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : it->second.get();
}

size_t ActorManager::num_alive() const {
  size_t n = 0;
  for (const auto& [id, actor] : actors_) n += actor->state != State::kDead;
  return n;
}

StatusOr<ActorManager::ActorInfo> ActorManager::Lookup(const std::string& ns,
                                                       const std::string& name) const {
  std::optional<ActorID> id = names_.Lookup(ns, name);
  if (!id.has_value()) {
    return NotFound("Failed to look up actor with name '" + name + "'" +
                    (ns.empty() ? std::string() : " in namespace '" + ns + "'") +
                    ". This could be because 1. You are trying to look up a named actor you "
                    "didn't create. 2. The named actor died. 3. You did not use a namespace "
                    "matching the namespace of the actor.");
  }
  const Actor* actor = actors_.at(*id).get();
  return ActorInfo{actor->id, actor->handle_meta};
}

StatusOr<ActorManager::ActorInfo> ActorManager::Create(uint64_t session,
                                                       const wire::CreateActor* create) {
  if (create->spec() == nullptr) return ProtocolError("CreateActor without a spec");
  RAYX_ASSIGN_OR_RETURN(TaskSpec spec, ParseTaskSpec(create->spec()));
  auto actor = std::make_unique<Actor>();
  actor->spec = std::move(spec);
  actor->spec.actor_creation = true;
  actor->spec.max_concurrency = std::max(1, actor->spec.max_concurrency);
  actor->id = ActorID::Of(actor->spec.task_id);
  actor->name = StringOf(create->name());
  actor->ns = StringOf(create->namespace_());
  if (!actor->name.empty()) {
    std::optional<ActorID> existing = names_.Lookup(actor->ns, actor->name);
    if (existing.has_value()) {
      if (create->get_if_exists()) {
        // The caller holds a handle from the reply on (see Create's holder below).
        RAYX_ASSIGN_OR_RETURN(ActorInfo found, Lookup(actor->ns, actor->name));
        AddHolder(session, found.id);
        return found;
      }
      return AlreadyExists("The name " + actor->name + " (namespace=" + actor->ns +
                           ") is already taken. Please use a different name or get the existing "
                           "actor using ray.get_actor('" +
                           actor->name + "', namespace='" + actor->ns + "')");
    }
  }
  if (actors_.count(actor->id) != 0)
    return ProtocolError("actor " + actor->id.Hex() + " created twice");
  if (functions_->count(actor->spec.function_id) == 0) {
    return ProtocolError("actor class " + actor->spec.name + " was never exported");
  }
  RAYX_ASSIGN_OR_RETURN(actor->lifetime, ResourcesFromWire(create->lifetime_resources()));
  if (!actor->lifetime.IsEmpty() && actor->lifetime != actor->spec.resources) {
    return InvalidArgument("an actor's lifetime resources must be none or its placement resources");
  }
  actor->restarts_left = std::max(-1, create->max_restarts());
  actor->max_task_retries = std::max(-1, create->max_task_retries());
  actor->detached = create->detached();
  if (BytesOf(create->handle_meta()).size() > kMaxHandleMetaSize) {
    return InvalidArgument("an actor handle's metadata is over " +
                           std::to_string(kMaxHandleMetaSize) + " bytes");
  }
  actor->handle_meta = std::string(BytesOf(create->handle_meta()));
  actor->creator_session = session;
  if (!actor->name.empty())
    RAYX_RETURN_IF_ERROR(names_.Register(actor->ns, actor->name, actor->id));

  Actor* raw = actor.get();
  ActorID id = raw->id;
  actors_.emplace(id, std::move(actor));
  // The creator holds a handle from the reply on: counted here, not by a later RefCountUpdate,
  // which a constructor that returns first would miss (the actor would end as unreferenced).
  raw->holders.insert(session);
  ActorInfo info{id, raw->handle_meta};
  for (const ObjectID& dep : raw->spec.dependencies) objects_->Pin(dep);
  for (const ObjectID& dep : raw->spec.contained) objects_->Pin(dep);
  for (const ActorID& other : raw->spec.contained_actors) PinActor(other, +1);
  raw->pinned = true;
  raw->args_pending =
      raw->spec.dependencies.size() + 1;  // +1: no callback finishes the count early.
  for (const ObjectID& dep : raw->spec.dependencies) {
    if (objects_->IsAvailable(dep)) {
      raw->args_pending--;
      continue;
    }
    // Waits for the value, and restores it first if it was spilled.
    raw->arg_waiters.emplace_back(
        dep, objects_->OnAvailable(dep, [this, id] { OnCreationArgReady(id); }));
  }
  OnCreationArgReady(id);
  return info;
}

void ActorManager::OnCreationArgReady(const ActorID& id) {
  Actor* actor = Find(id);
  if (actor == nullptr || actor->state != State::kWaitingForArgs) return;
  if (--actor->args_pending > 0) return;
  actor->arg_waiters.clear();
  for (const ObjectID& dep : actor->spec.dependencies) {
    const StoredValue* value = objects_->Get(dep);
    if (value != nullptr && value->kind != ValueKind::kValue) {
      Die(actor, "an argument of the constructor of " + actor->spec.name + " is an error: " +
                     (value->kind == ValueKind::kSystemError
                          ? value->inline_data
                          : std::string("the task that made it raised")));
      return;
    }
  }
  // Values never change once sealed: a creation task that fits now fits after every restart.
  ExecuteExtras extras;
  extras.function_blob = &functions_->at(actor->spec.function_id);
  extras.dependency_values = DependencyValues(actor->spec);
  if (!ExecuteTaskFits(actor->spec, extras)) {
    Die(actor, "the actor " + actor->spec.name +
                   " cannot be created: its constructor's arguments held inline and its class "
                   "pass the frame limit");
    return;
  }
  Place(actor);
}

std::vector<const StoredValue*> ActorManager::DependencyValues(const TaskSpec& spec) const {
  std::vector<const StoredValue*> values;
  values.reserve(spec.dependencies.size());
  for (const ObjectID& dep : spec.dependencies) {
    const StoredValue* value = objects_->Get(dep);
    RAYX_CHECK(value != nullptr) << "an actor task's argument is gone";  // It is pinned and ready.
    values.push_back(value);
  }
  return values;
}

void ActorManager::Place(Actor* actor) {
  actor->state = State::kPlacing;
  ActorID id = actor->id;
  auto lease = tasks_->Lease(
      actor->spec.name, actor->spec.resources,
      [this, id](Worker* worker, const Allocation& allocation) {
        OnPlaced(id, worker, allocation);
      },
      [this, id](const std::string& why) {
        Actor* actor = Find(id);
        if (actor == nullptr || actor->state != State::kPlacing) return;
        actor->lease_key = 0;
        Die(actor, "actor " + actor->spec.name + " cannot start: " + why);
      });
  if (!lease.ok()) {
    Die(actor, "actor " + actor->spec.name + " cannot be placed: " + lease.status().ToString());
    return;
  }
  if (actor->state == State::kPlacing) actor->lease_key = *lease;  // Not granted at once.
}

void ActorManager::OnPlaced(const ActorID& id, Worker* worker, const Allocation& allocation) {
  Actor* actor = Find(id);
  if (actor == nullptr || actor->state != State::kPlacing) {
    // Died while it waited (its lease should have been cancelled): give everything back.
    pool_->PushIdle(worker);
    tasks_->ReleaseAllocation(allocation);
    return;
  }
  actor->lease_key = 0;
  actor->worker_id = worker->id;
  actor->allocation = allocation;
  actor->state = State::kCreating;
  by_worker_[worker->id] = id;
  worker->task_name = actor->spec.name;

  ExecuteExtras extras;
  if (worker->known_functions.insert(actor->spec.function_id).second) {
    extras.function_blob = &functions_->at(actor->spec.function_id);
  }
  extras.dependency_values = DependencyValues(actor->spec);
  extras.gpu_ids = allocation.gpu_ids;
  extras.attempt = actor->restarts;
  flatbuffers::FlatBufferBuilder b(256 + actor->spec.args.size());
  StatusOr<std::string_view> execute = BuildExecuteTask(b, actor->spec, extras);
  // OnCreationArgReady checked that the creation task fits; failing here is a bug in rayx.
  RAYX_CHECK(execute.ok()) << execute.status();
  worker->connection->Send(*execute);
  if (lineage_) lineage_->Started(actor->spec.task_id, worker->pid);
}

Status ActorManager::Submit(TaskSpec spec) {
  ActorID actor_id = spec.actor_id;
  auto call = std::make_unique<Call>();
  call->spec = std::move(spec);
  for (const ObjectID& id : call->spec.dependencies) objects_->Pin(id);
  for (const ObjectID& id : call->spec.contained) objects_->Pin(id);
  for (const ActorID& id : call->spec.contained_actors) PinActor(id, +1);
  Actor* actor = Find(actor_id);
  if (actor == nullptr) {
    FailCall(call.get(), "there is no actor " + actor_id.Hex() + " on this node");
    return Status::OK();
  }
  if (actor->state == State::kDead) {
    FailCall(call.get(), actor->death);
    return Status::OK();
  }
  call->retries_left = actor->max_task_retries;
  actor->queue.push_back(std::move(call));
  Pump(actor);
  return Status::OK();
}

void ActorManager::Pump(Actor* actor) {
  while (actor->state == State::kAlive && !actor->head_waiting && !actor->queue.empty()) {
    Call* call = actor->queue.front().get();
    const StoredValue* failed = nullptr;
    for (const ObjectID& dep : call->spec.dependencies) {
      if (!objects_->IsAvailable(dep)) {
        ActorID id = actor->id;
        actor->head_waiting = true;
        // Registered after head_waiting is set: OnAvailable may not call back at once here, since
        // dep is not available (not ready, or spilled and to be restored), but the flag must hold
        // before any callback can run.
        actor->head_waiter = {dep, objects_->OnAvailable(dep, [this, id] {
                                Actor* a = Find(id);
                                if (a == nullptr || !a->head_waiting) return;
                                a->head_waiting = false;
                                Pump(a);
                              })};
        return;
      }
      const StoredValue* value = objects_->Get(dep);
      if (failed == nullptr && value != nullptr && value->kind != ValueKind::kValue) failed = value;
    }
    std::unique_ptr<Call> owned = std::move(actor->queue.front());
    actor->queue.pop_front();
    if (failed != nullptr) {
      // An argument that is an error becomes the call's result, without running it.
      std::vector<StoredValue> results(call->spec.num_returns, PropagatedError(*failed));
      FinishCall(call, std::move(results));
      continue;
    }
    ExecuteExtras extras;
    extras.dependency_values = DependencyValues(call->spec);
    if (!ExecuteTaskFits(call->spec, extras)) {
      std::vector<StoredValue> results(
          call->spec.num_returns,
          SystemErrorValue(SystemErrorCode::kUnschedulable,
                           "method " + call->spec.name +
                               " cannot be sent to its actor: its arguments held inline pass the "
                               "frame limit"));
      FinishCall(call, std::move(results));
      continue;
    }
    SendCall(actor, call);
    actor->running.push_back(std::move(owned));
  }
}

void ActorManager::SendCall(Actor* actor, Call* call) {
  ExecuteExtras extras;
  extras.dependency_values = DependencyValues(call->spec);
  extras.retries_left = call->retries_left;
  extras.attempt = call->attempt;
  flatbuffers::FlatBufferBuilder b(192 + call->spec.args.size());
  StatusOr<std::string_view> execute = BuildExecuteTask(b, call->spec, extras);
  // Pump checked that the call fits; failing here is a bug in rayx.
  RAYX_CHECK(execute.ok()) << execute.status();
  Worker* worker = pool_->Find(actor->worker_id);
  if (worker != nullptr) worker->connection->Send(*execute);
  if (lineage_ && worker != nullptr) lineage_->Started(call->spec.task_id, worker->pid);
}

Status ActorManager::OnTaskDone(Worker* worker, const wire::TaskDone* done) {
  auto by = by_worker_.find(worker->id);
  if (by == by_worker_.end()) return ProtocolError("TaskDone from a worker that runs no actor");
  Actor* actor = Find(by->second);
  if (actor == nullptr || actor->worker_id != worker->id)
    return Status::OK();  // Killed: late news.
  RAYX_ASSIGN_OR_RETURN(TaskID id, UnpackId<TaskID>(done->task_id()));
  to_check_.insert(actor->id);  // An actor out of scope ends once its last call is done.
  std::vector<StoredValue> results;
  Status parsed = Status::OK();
  if (done->results() != nullptr) {
    for (const auto* wire_value : *done->results()) {
      auto value = StoredValueFromWire(wire_value);
      if (!value.ok()) {
        parsed = value.status();
        break;
      }
      results.push_back(std::move(value).value());
    }
  }
  if (actor->state == State::kCreating && id == actor->spec.task_id) {
    if (!parsed.ok()) return parsed;
    if (lineage_) {
      if (!results.empty() && results[0].kind != ValueKind::kValue) {
        lineage_->Failed(id, results[0]);
      } else {
        lineage_->Finished(id, {});
      }
    }
    if (!results.empty() && results[0].kind != ValueKind::kValue) {
      // The constructor raised: the actor is dead (a restart would raise again).
      Die(actor, "the actor " + actor->spec.name + " died: its constructor raised an exception" +
                     (results[0].kind == ValueKind::kSystemError ? ": " + results[0].inline_data
                                                                 : std::string()));
      return Status::OK();
    }
    actor->state = State::kAlive;
    if (actor->lifetime.IsEmpty() && !IsEmpty(actor->allocation)) {
      Allocation placement = std::move(actor->allocation);
      actor->allocation = Allocation();
      tasks_->ReleaseAllocation(placement);  // May grant leases; this actor is settled already.
    }
    Pump(actor);
    return Status::OK();
  }
  auto it = std::find_if(actor->running.begin(), actor->running.end(),
                         [&id](const std::unique_ptr<Call>& c) { return c->spec.task_id == id; });
  if (it == actor->running.end()) return ProtocolError("an actor reported a call it was not sent");
  std::unique_ptr<Call> call = std::move(*it);
  actor->running.erase(it);
  if (!parsed.ok()) {
    FailCall(call.get(), "the actor sent a malformed result: " + parsed.ToString());
    return parsed;
  }
  if (results.size() == 1 && results[0].kind != ValueKind::kValue) {
    results.resize(call->spec.num_returns, results[0]);
  } else if (results.size() != call->spec.num_returns) {
    std::vector<StoredValue> error(
        call->spec.num_returns,
        SystemErrorValue(SystemErrorCode::kWorkerDied, "method " + call->spec.name + " returned " +
                                                           std::to_string(results.size()) +
                                                           " values, expected " +
                                                           std::to_string(call->spec.num_returns)));
    results = std::move(error);
  }
  FinishCall(call.get(), std::move(results));
  return Status::OK();
}

void ActorManager::FinishCall(Call* call, std::vector<StoredValue> results) {
  if (lineage_ && !results.empty() && results[0].kind != ValueKind::kValue) {
    lineage_->Failed(call->spec.task_id, results[0]);
  } else if (lineage_) {
    lineage_->Finished(call->spec.task_id, results);
  }
  for (uint32_t i = 0; i < call->spec.num_returns && i < results.size(); ++i) {
    objects_->Seal(ObjectID::ForReturn(call->spec.task_id, i), std::move(results[i]));
  }
  for (const ObjectID& id : call->spec.dependencies) objects_->Unpin(id);
  for (const ObjectID& id : call->spec.contained) objects_->Unpin(id);
  for (const ActorID& id : call->spec.contained_actors) PinActor(id, -1);
}

void ActorManager::FailCancelled(Call* call) {
  std::vector<StoredValue> results(call->spec.num_returns,
                                   SystemErrorValue(SystemErrorCode::kTaskCancelled,
                                                    "task " + call->spec.name + " was cancelled"));
  FinishCall(call, std::move(results));
}

bool ActorManager::HasCall(const TaskID& task_id) const {
  for (const auto& [id, actor] : actors_) {
    for (const auto* calls : {&actor->queue, &actor->running}) {
      for (const auto& call : *calls) {
        if (call->spec.task_id == task_id) return true;
      }
    }
  }
  return false;
}

bool ActorManager::CancelCall(const TaskID& task_id) {
  for (auto& [id, entry] : actors_) {
    Actor* actor = entry.get();
    for (auto it = actor->queue.begin(); it != actor->queue.end(); ++it) {
      if ((*it)->spec.task_id != task_id) continue;
      bool head = it == actor->queue.begin();
      std::unique_ptr<Call> call = std::move(*it);
      actor->queue.erase(it);
      FailCancelled(call.get());
      to_check_.insert(actor->id);  // An actor out of scope ends once its last call is done.
      if (head && actor->head_waiting) {
        // It held back the calls behind it for an argument it no longer needs.
        objects_->CancelWaiter(actor->head_waiter.first, actor->head_waiter.second);
        actor->head_waiting = false;
        Pump(actor);
      }
      return false;
    }
    for (auto& call : actor->running) {
      if (call->spec.task_id != task_id) continue;
      if (call->cancelled) return true;
      call->cancelled = true;
      Worker* worker = pool_->Find(actor->worker_id);
      if (worker != nullptr && worker->connection != nullptr) {
        flatbuffers::FlatBufferBuilder b(64);
        ObjectID first_return = ObjectID::ForReturn(task_id, 0);
        auto object_id = b.CreateVector(first_return.data(), ObjectID::kSize);
        worker->connection->Send(FinishEnvelope(b, wire::CreateCancelTask(b, object_id, false)));
      }
      return true;
    }
  }
  return false;
}

void ActorManager::AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const {
  for (const auto& [id, actor] : actors_) {
    for (const auto* calls : {&actor->queue, &actor->running}) {
      for (const auto& call : *calls) {
        if (call->spec.parent == parent) children->push_back(call->spec.task_id);
      }
    }
  }
}

void ActorManager::FailCall(Call* call, const std::string& why) {
  std::vector<StoredValue> results(call->spec.num_returns,
                                   SystemErrorValue(SystemErrorCode::kActorDied, why));
  FinishCall(call, std::move(results));
}

bool ActorManager::OnWorkerExit(Worker* worker) {
  auto by = by_worker_.find(worker->id);
  if (by == by_worker_.end()) return false;
  ActorID id = by->second;
  by_worker_.erase(by);
  Actor* actor = Find(id);
  if (actor != nullptr && actor->worker_id == worker->id) {
    actor->worker_id = WorkerID();
    OnActorWorkerLost(actor, "The actor " + actor->spec.name + " died: its worker process (pid " +
                                 std::to_string(worker->pid) + ") exited");
  }
  return true;
}

void ActorManager::OnActorWorkerLost(Actor* actor, const std::string& why) {
  ReleaseResources(actor);
  bool restart = actor->restarts_left != 0 && actor->state != State::kDead;
  // Calls the worker was running go first again, in their order, while retries allow.
  while (!actor->running.empty()) {
    std::unique_ptr<Call> call = std::move(actor->running.back());
    actor->running.pop_back();
    if (call->cancelled) {
      FailCancelled(call.get());  // Cancelled calls are not retried (Ray's rule).
    } else if (restart && call->retries_left != 0) {
      if (call->retries_left > 0) call->retries_left--;
      call->attempt++;
      actor->queue.push_front(std::move(call));
    } else {
      FailCall(call.get(), why);
    }
  }
  if (!restart) {
    Die(actor, why);
    return;
  }
  if (actor->restarts_left > 0) actor->restarts_left--;
  actor->restarts++;
  RAYX_LOG(Info) << why << "; restarting it";
  Place(actor);
}

void ActorManager::ReleaseResources(Actor* actor) {
  if (IsEmpty(actor->allocation)) return;
  Allocation allocation = std::move(actor->allocation);
  actor->allocation = Allocation();
  tasks_->ReleaseAllocation(allocation);
}

void ActorManager::Kill(const ActorID& id, bool no_restart) {
  Actor* actor = Find(id);
  if (actor == nullptr || actor->state == State::kDead) return;
  if (no_restart) {
    Die(actor, "The actor " + actor->spec.name + " was killed by rayx.kill");
    return;
  }
  if (!actor->worker_id.IsNil()) {
    Worker* worker = pool_->Find(actor->worker_id);
    actor->worker_id = WorkerID();
    if (worker != nullptr) pool_->Signal(worker, SIGKILL);
    OnActorWorkerLost(actor, "The actor " + actor->spec.name + " was killed by rayx.kill");
  }
}

void ActorManager::KillPlacementGroupActors(const std::string& hex, const std::string& why) {
  std::vector<Actor*> doomed;
  for (auto& [id, actor] : actors_) {
    if (actor->state != State::kDead && (NamesPlacementGroup(actor->spec.resources, hex) ||
                                         NamesPlacementGroup(actor->lifetime, hex))) {
      doomed.push_back(actor.get());
    }
  }
  for (Actor* actor : doomed) Die(actor, "The actor " + actor->spec.name + " died: " + why);
}

void ActorManager::Die(Actor* actor, const std::string& why) {
  if (actor->state == State::kDead) return;
  actor->state = State::kDead;
  actor->death = why;
  if (actor->lease_key != 0) tasks_->CancelLease(actor->lease_key);
  actor->lease_key = 0;
  if (!actor->worker_id.IsNil()) {
    Worker* worker = pool_->Find(actor->worker_id);
    if (worker != nullptr) pool_->Signal(worker, SIGKILL);  // by_worker_ keeps it until its exit.
    actor->worker_id = WorkerID();
  }
  for (auto& [dep, handle] : actor->arg_waiters) objects_->CancelWaiter(dep, handle);
  actor->arg_waiters.clear();
  if (actor->head_waiting)
    objects_->CancelWaiter(actor->head_waiter.first, actor->head_waiter.second);
  actor->head_waiting = false;
  if (!actor->name.empty()) names_.Release(actor->ns, actor->name, actor->id);
  std::deque<std::unique_ptr<Call>> calls = std::move(actor->running);
  for (auto& call : actor->queue) calls.push_back(std::move(call));
  actor->running.clear();
  actor->queue.clear();
  for (auto& call : calls) FailCall(call.get(), why);
  if (actor->pinned) {
    actor->pinned = false;
    for (const ObjectID& dep : actor->spec.dependencies) objects_->Unpin(dep);
    for (const ObjectID& dep : actor->spec.contained) objects_->Unpin(dep);
    for (const ActorID& other : actor->spec.contained_actors) PinActor(other, -1);
  }
  actor->spec.args.clear();
  actor->spec.args.shrink_to_fit();
  ReleaseResources(actor);
}

void ActorManager::AddHolder(uint64_t session, const ActorID& id) {
  Actor* actor = Find(id);
  if (actor != nullptr) actor->holders.insert(session);
}

void ActorManager::RemoveHolder(uint64_t session, const ActorID& id) {
  Actor* actor = Find(id);
  if (actor == nullptr || actor->holders.erase(session) == 0) return;
  to_check_.insert(id);
}

void ActorManager::PinActor(const ActorID& id, int delta) {
  Actor* actor = Find(id);
  if (actor == nullptr) return;
  actor->pins += delta;
  if (actor->pins <= 0) to_check_.insert(id);
}

void ActorManager::CollectUnreferenced() {
  while (!to_check_.empty()) {
    std::unordered_set<ActorID> check = std::move(to_check_);
    to_check_.clear();
    // Dying releases what an actor held (its calls' arguments): more actors may follow.
    for (const ActorID& id : check) {
      Actor* actor = Find(id);
      if (actor != nullptr) MaybeCollect(actor);
    }
  }
}

void ActorManager::MaybeCollect(Actor* actor) {
  if (actor->detached || actor->state == State::kDead) return;
  if (!actor->creator_alive) {
    Die(actor,
        "The actor " + actor->spec.name + " died: its owner (the process that created it) exited");
    return;
  }
  if (!actor->holders.empty() || actor->pins > 0) return;
  // Out of scope: calls already made still run; the actor ends when the last one is done (a
  // finished call brings it back here).
  if (!actor->queue.empty() || !actor->running.empty()) return;
  Die(actor, "The actor " + actor->spec.name + " was ended: every handle to it went out of scope");
}

void ActorManager::OnSessionClosed(uint64_t session) {
  for (auto& [id, actor] : actors_) {
    bool held = actor->holders.erase(session) != 0;
    if (actor->creator_session == session) actor->creator_alive = false;
    if (held || actor->creator_session == session) to_check_.insert(id);
  }
}

}  // namespace rayx
