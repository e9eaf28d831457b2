#include "engine/node/task_manager.h"

#include <signal.h>

#include <algorithm>
#include <cmath>

#include "engine/base/logging.h"
#include "engine/node/task_retry_budget.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

// A demand for the resources of a placement group that is not reserved (yet, or any more): it
// waits for the group without a report (the group's own state says why).
bool WaitsForPlacementGroup(const ResourceSet& demand, const ResourceSet& total) {
  for (const auto& [name, units] : demand.units()) {
    if (name.find("_group_") != std::string::npos && total.GetUnits(name) == 0) return true;
  }
  return false;
}
// Workers that may die in a row before saying hello before the node stops starting more.
constexpr size_t kMaxStartFailures = 5;

}  // namespace

TaskManager::TaskManager(ObjectTable* objects, WorkerPool* pool,
                         const std::unordered_map<std::string, std::string>* functions,
                         const ResourceSet& total, std::function<void(const std::string&)> report)
    : objects_(objects),
      pool_(pool),
      functions_(functions),
      resources_(total),
      report_(std::move(report)) {
  objects_->SetLostHandler([this](const ObjectID& id) { RebuildLost(id); });
  objects_->SetFreeListener([this](const ObjectID& id) {
    if (!id.IsPut()) MaybeDropLineage(id.Task());
  });
}

TaskManager::~TaskManager() {
  objects_->SetLostHandler(nullptr);
  objects_->SetFreeListener(nullptr);
}

Status TaskManager::Adopt(TaskSpec&& spec, Task* task) {
  task->key = next_key_++;
  task->spec = std::move(spec);
  task->retries_left = BudgetOf(task->spec.max_retries);
  auto definition = functions_->find(task->spec.function_id);
  if (definition == functions_->end()) {
    return ProtocolError("task " + task->spec.name + " names a function that was never exported");
  }
  task->definition = &definition->second;
  if (by_id_.count(task->spec.task_id) != 0)
    return AlreadyExists("task " + task->spec.task_id.Hex() + " was submitted twice");
  return Status::OK();
}

Status TaskManager::Submit(TaskSpec spec) {
  int budget = BudgetOf(spec.max_retries);
  uint32_t attempt = spec.first_attempt;
  return SubmitWithBudget(std::move(spec), budget, attempt);
}

Status TaskManager::SubmitWithBudget(TaskSpec&& spec, int retries_left, uint32_t attempt) {
  auto task = std::make_unique<Task>();
  RAYX_RETURN_IF_ERROR(Adopt(std::move(spec), task.get()));
  task->retries_left = retries_left;
  task->attempt = attempt;

  for (const ObjectID& id : task->spec.dependencies) {
    // A freed argument whose lineage is kept (a rebuild's) is rebuilt when it is waited for.
    if (!objects_->Exists(id) && !id.IsPut() && lineage_.count(id.Task()) != 0) {
      objects_->CreateLost(id);
    }
    if (!objects_->Exists(id)) {
      // The submitter passed a reference to an object that was freed: the task cannot run.
      for (uint32_t i = 0; i < task->spec.num_returns; ++i) {
        objects_->Seal(
            ObjectID::ForReturn(task->spec.task_id, i),
            SystemErrorValue(SystemErrorCode::kObjectLost,
                             "argument " + id.Hex() + " of task " + task->spec.name + " was lost"));
      }
      return Status::OK();
    }
  }
  Task* raw = task.get();
  tasks_.emplace(raw->key, std::move(task));
  by_id_.emplace(raw->spec.task_id, raw->key);
  for (const ObjectID& id : raw->spec.contained) objects_->Pin(id);
  if (pin_actor_) {
    for (const ActorID& id : raw->spec.contained_actors) pin_actor_(id, +1);
  }
  for (const ObjectID& id : raw->spec.dependencies) objects_->Pin(id);
  raw->args_pending =
      raw->spec.dependencies.size() + 1;  // +1 so that no callback finishes the count early.
  uint64_t key = raw->key;
  for (const ObjectID& id : raw->spec.dependencies) {
    // A spilled argument is restored before the task runs; the task's pin keeps it in memory.
    uint64_t handle = objects_->OnAvailable(id, [this, key] { OnArgReady(key); });
    auto it = tasks_.find(key);
    if (it == tasks_.end()) return Status::OK();  // Finished by a failed argument already.
    if (!objects_->IsAvailable(id)) it->second->arg_waiters.emplace_back(id, handle);
  }
  OnArgReady(key);
  return Status::OK();
}

void TaskManager::OnArgReady(uint64_t key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end()) return;
  Task* task = it->second.get();
  if (--task->args_pending > 0) return;
  task->arg_waiters.clear();
  // An argument that is an error becomes this task's result, without running it.
  ExecuteExtras extras;
  for (const ObjectID& id : task->spec.dependencies) {
    const StoredValue* value = objects_->Get(id);
    if (value != nullptr && value->kind != ValueKind::kValue) {
      FinishWithValue(task, PropagatedError(*value));
      return;
    }
    if (value != nullptr) extras.dependency_values.push_back(value);
  }
  // Values never change once sealed, so a task that fits now fits at every dispatch. The function's
  // definition counts as if the worker had never been sent it.
  extras.function_blob = task->definition;
  if (!ExecuteTaskFits(task->spec, extras)) {
    FinishWithValue(task, SystemErrorValue(SystemErrorCode::kUnschedulable,
                                           "task " + task->spec.name +
                                               " cannot be sent to a worker: its arguments held "
                                               "inline and its function pass the frame limit"));
    return;
  }
  Enqueue(task);
}

void TaskManager::Enqueue(Task* task) {
  task->state = State::kQueued;
  const bool feasible = resources_.IsFeasible(task->spec.resources);
  if (remote_ != nullptr && task->spec.streaming && !feasible) {
    FinishWithValue(task, SystemErrorValue(SystemErrorCode::kUnschedulable,
                                           "generator task " + task->spec.name + " needs " +
                                               task->spec.resources.ToString() +
                                               ", which this node lacks: generator tasks run on "
                                               "their caller's node only (see rayx's README)"));
    return;
  }
  // A generator task stays here: its items are streamed to this node (the owner's).
  if (remote_ != nullptr && !task->on_lease && !task->spec.from_peer && !task->spec.streaming) {
    const bool fits_now =
        feasible && ready_.empty() && task->spec.resources.IsSubsetOf(resources_.available());
    StatusOr<NodeID> where = remote_->Place(task->spec, fits_now, feasible);
    if (!where.ok()) {
      FinishWithValue(task, SystemErrorValue(SystemErrorCode::kUnschedulable,
                                             "task " + task->spec.name +
                                                 " cannot be placed: " + where.status().message()));
      return;
    }
    if (!where->IsNil()) {
      task->state = State::kRemote;
      task->remote_node = *where;
      remote_->Run(*where, task->key, task->spec, task->attempt);
      return;
    }
  }
  if (!feasible) {
    if (WaitsForPlacementGroup(task->spec.resources, resources_.total())) {
      // Its group is pending or removed: the group's state says so; nothing to report.
    } else if (task->spec.resources.ToString().find("_group_") != std::string::npos) {
      if (reported_infeasible_.insert(task->spec.resources).second) {
        report_("task " + task->spec.name + " needs " + task->spec.resources.ToString() +
                ", more than its placement group's bundle holds (this node has " +
                resources_.total().ToString() + "); it stays pending.");
      }
    } else if (reported_infeasible_.insert(task->spec.resources).second) {
      std::string others = remote_ != nullptr ? remote_->DescribeMembers() : "";
      report_("task " + task->spec.name + " needs " + task->spec.resources.ToString() +
              ", which no node of this cluster has (" +
              (others.empty() ? "it has " : "this node has ") + resources_.total().ToString() +
              (others.empty() ? "" : "; the others: " + others) +
              "); it will wait until a node that has it joins.");
    }
    infeasible_.push_back(task->key);
    return;
  }
  ready_.Push(task->key, task->spec.resources, task->spec.depth);
  TryDispatch();
}

void TaskManager::TryDispatch() {
  if (dispatching_) return;
  if (reservation_hook_ && !in_reservation_hook_) {
    in_reservation_hook_ = true;
    std::function<void()> hook = reservation_hook_;
    hook();
    in_reservation_hook_ = false;
  }
  dispatching_ = true;
  ready_.Dispatch(&resources_, [this](uint64_t key, const Allocation& allocation) {
    auto it = tasks_.find(key);
    if (it == tasks_.end()) return false;
    return Dispatch(it->second.get(), allocation);
  });
  dispatching_ = false;
  MaybeStartWorkers();
  RevokeLeasesIfWaiting();
}

bool TaskManager::Dispatch(Task* task, const Allocation& allocation) {
  Worker* worker = pool_->PopIdle();
  if (worker == nullptr) return false;
  if (task->on_lease) {
    LeaseCallback on_granted = std::move(task->on_lease);
    Forget(task);
    on_granted(worker, allocation);
    return true;
  }
  task->state = State::kRunning;
  task->worker = worker;
  task->allocation = allocation;
  worker->task_key = task->key;
  worker->task_name = task->spec.name;
  worker->blocked = false;
  SendExecute(task, worker);
  if (recorder_) recorder_->Started(task->spec.task_id, worker->pid);
  return true;
}

void TaskManager::SendExecute(Task* task, Worker* worker) {
  ExecuteExtras extras;
  // Most tasks run the function the worker ran last: no lookup by name for those.
  if (worker->last_definition != task->definition) {
    if (worker->known_functions.insert(task->spec.function_id).second) {
      extras.function_blob = task->definition;
    }
    worker->last_definition = task->definition;
  }
  for (const ObjectID& id : task->spec.dependencies) {
    const StoredValue* value = objects_->Get(id);
    RAYX_CHECK(value != nullptr) << "a dispatched task's argument is gone";  // It is pinned.
    extras.dependency_values.push_back(value);
  }
  extras.retries_left = task->retries_left;
  extras.attempt = task->attempt;
  extras.gpu_ids = task->allocation.gpu_ids;
  // Both sides start from none: a worker's first task with none asks for them as before too.
  if (worker->last_resources == task->spec.resources) {
    extras.resources_as_before = true;
  } else {
    worker->last_resources = task->spec.resources;
  }
  flatbuffers::FlatBufferBuilder b(256 + task->spec.args.size());
  StatusOr<std::string_view> execute = BuildExecuteTask(b, task->spec, extras);
  // OnArgReady checked that the task fits; failing here is a bug in rayx.
  RAYX_CHECK(execute.ok()) << execute.status();
  worker->connection->Send(*execute);
}

Status TaskManager::OnTaskDone(Worker* worker, const wire::TaskDone* done, std::string_view frame) {
  RAYX_ASSIGN_OR_RETURN(TaskID id, UnpackId<TaskID>(done->task_id()));
  auto it = tasks_.find(worker->task_key);
  if (it != tasks_.end() && it->second->spec.task_id == id)
    return FinishRan(it->second.get(), done);
  auto lease = leases_.find(worker);
  if (lease != leases_.end()) {
    // A direct task. Its report comes after the owner gave the lease back when the worker
    // batched it, and before the owner's SubmitDirect when the owner batched that.
    if (Task* direct = AwaitedDirectTask(lease->second, id)) return FinishRan(direct, done);
    if (!lease->second.returned) {
      if (lease->second.early_done.count(id) != 0)
        return ProtocolError("task " + id.Hex() + " reported twice");
      lease->second.early_done.emplace(id, KeepEarly(done, frame));
      return Status::OK();
    }
    // The lease went back before the node heard of the task, which was then taken for lost (and
    // retried): this report comes too late to count.
    return Status::OK();
  }
  // A late report of a direct task that nobody waits for any more (its owner is gone).
  if (by_id_.count(id) == 0) return Status::OK();
  return ProtocolError("worker reported task " + id.Hex() + ", which it was not running");
}

Status TaskManager::FinishRan(Task* task, const wire::TaskDone* done) {
  DetachFromWorker(task, /*worker_alive=*/true);

  if (done->retry() && !task->cancelled && TakeRetry(&task->retries_left, &task->attempt)) {
    if (recorder_) recorder_->Retried(task->spec.task_id, "the task raised; retry_exceptions");
    ready_.Push(task->key, task->spec.resources, task->spec.depth);
    task->state = State::kQueued;
    TryDispatch();
    return Status::OK();
  }
  std::vector<StoredValue> results;
  if (done->results() != nullptr) {
    for (const auto* wire_value : *done->results()) {
      auto value = StoredValueFromWire(wire_value);
      if (!value.ok()) {
        FinishWithValue(task,
                        SystemErrorValue(SystemErrorCode::kWorkerDied, value.status().ToString()));
        TryDispatch();
        return value.status();
      }
      results.push_back(std::move(value).value());
    }
  }
  FinishWithResults(task, std::move(results), /*locations=*/nullptr);
  TryDispatch();
  return Status::OK();
}

void TaskManager::FinishWithResults(Task* task, std::vector<StoredValue> results,
                                    const std::vector<NodeID>* locations) {
  if (results.size() == 1 && results[0].kind != ValueKind::kValue) {
    FinishWithValue(task, results[0]);
  } else if (results.size() != task->spec.num_returns) {
    FinishWithValue(
        task,
        SystemErrorValue(SystemErrorCode::kWorkerDied,
                         "task " + task->spec.name + " returned " + std::to_string(results.size()) +
                             " values, expected " + std::to_string(task->spec.num_returns)));
  } else {
    if (recorder_) recorder_->Finished(task->spec.task_id, results);
    for (uint32_t i = 0; i < task->spec.num_returns; ++i) {
      ObjectID id = ObjectID::ForReturn(task->spec.task_id, i);
      if (locations == nullptr || (*locations)[i].IsNil()) {
        task->results_held |= objects_->Seal(id, std::move(results[i]));
      } else {
        task->results_held |= objects_->SealRemote(id, std::move(results[i]), (*locations)[i]);
      }
    }
    if (task->spec.num_returns > 1 && task->results_held) {
      // A later return's waiters may have let go of an earlier one: kept lineage with no return
      // left would never be dropped.
      task->results_held = false;
      for (uint32_t i = 0; i < task->spec.num_returns && !task->results_held; ++i) {
        task->results_held = objects_->Exists(ObjectID::ForReturn(task->spec.task_id, i));
      }
    }
    Forget(task, /*keep_lineage=*/true);
  }
}

void TaskManager::DetachFromWorker(Task* task, bool worker_alive) {
  Worker* worker = task->worker;
  if (worker == nullptr) return;
  if (task->direct) {
    // The lease holds the resources; the worker goes idle when its lease is over.
    task->direct = false;
    task->worker = nullptr;
    auto lease = leases_.find(worker);
    if (lease == leases_.end()) return;
    lease->second.direct_tasks.erase(task->key);
    if (lease->second.returned && lease->second.direct_tasks.empty()) {
      bool idle_already = lease->second.worker_idle;
      EraseLease(lease);
      if (worker_alive && !idle_already) pool_->PushIdle(worker);
    }
    return;
  }
  if (worker->blocked) resources_.ReacquireCpu(NodeResources::CpuShare(task->allocation.amounts));
  resources_.Release(task->allocation);
  task->allocation = Allocation();
  task->worker = nullptr;
  worker->task_key = 0;
  worker->task_name.clear();
  worker->blocked = false;
  if (worker_alive) pool_->PushIdle(worker);
}

void TaskManager::FinishWithValue(Task* task, const StoredValue& value) {
  if (recorder_) recorder_->Failed(task->spec.task_id, value);  // Only errors end a task here.
  for (uint32_t i = 0; i < task->spec.num_returns; ++i) {
    objects_->Seal(ObjectID::ForReturn(task->spec.task_id, i), value);
  }
  Forget(task);
}

void TaskManager::Forget(Task* task, bool keep_lineage) {
  for (auto& [id, handle] : task->arg_waiters) objects_->CancelWaiter(id, handle);
  std::vector<ObjectID> pinned = task->spec.dependencies;
  pinned.insert(pinned.end(), task->spec.contained.begin(), task->spec.contained.end());
  std::vector<ActorID> actors = task->spec.contained_actors;
  by_id_.erase(task->spec.task_id);
  auto owned = tasks_.extract(task->key);
  // Before the arguments are unpinned, so that the lineage of the tasks that made them stays.
  if (keep_lineage) KeepLineage(&owned.mapped());
  owned = {};  // task is gone from here on, unless its lineage took it.
  for (const ObjectID& id : pinned) objects_->Unpin(id);
  if (pin_actor_) {
    for (const ActorID& id : actors) pin_actor_(id, -1);
  }
}

void TaskManager::OnWorkerReady(Worker*) { TryDispatch(); }

void TaskManager::OnWorkerExit(Worker* worker) {
  auto it = tasks_.find(worker->task_key);
  if (it != tasks_.end())
    OnRunningTaskLost(it->second.get(), "worker pid=" + std::to_string(worker->pid));
  auto lease = leases_.find(worker);
  if (lease != leases_.end()) {
    std::vector<uint64_t> direct(lease->second.direct_tasks.begin(),
                                 lease->second.direct_tasks.end());
    for (uint64_t key : direct) {
      auto task = tasks_.find(key);
      if (task != tasks_.end())
        OnRunningTaskLost(task->second.get(), "worker pid=" + std::to_string(worker->pid));
    }
    lease = leases_.find(worker);
    if (lease != leases_.end()) {
      if (!lease->second.returned) {
        if (lease->second.blocked)
          resources_.ReacquireCpu(NodeResources::CpuShare(lease->second.allocation.amounts));
        resources_.Release(lease->second.allocation);
      }
      EraseLease(lease);
    }
  }
  TryDispatch();
}

void TaskManager::OnRunningTaskLost(Task* task, const std::string& worker) {
  DetachFromWorker(task, /*worker_alive=*/false);
  if (task->cancelled) {
    FinishWithValue(task, SystemErrorValue(SystemErrorCode::kTaskCancelled,
                                           "task " + task->spec.name + " was cancelled"));
  } else if (TakeRetry(&task->retries_left, &task->attempt)) {
    if (recorder_) recorder_->Retried(task->spec.task_id, worker + " died");
    RAYX_LOG(Warning) << worker << " died running " << task->spec.name << "; retrying it ("
                      << RetriesLeftText(task->retries_left) << ")";
    Enqueue(task);  // Placed again: with peers it may go elsewhere.
  } else {
    FinishWithValue(task, SystemErrorValue(SystemErrorCode::kWorkerDied,
                                           worker + " running task " + task->spec.name +
                                               " died, and no retries remain"));
  }
}

void TaskManager::OnRemoteDone(uint64_t key, std::vector<RemoteResult> results) {
  auto it = tasks_.find(key);
  if (it == tasks_.end() || it->second->state != State::kRemote) return;
  Task* task = it->second.get();
  task->remote_node = NodeID();
  std::vector<StoredValue> values;
  std::vector<NodeID> locations;
  for (RemoteResult& r : results) {
    values.push_back(std::move(r.value));
    locations.push_back(r.location);
  }
  FinishWithResults(task, std::move(values), &locations);
  TryDispatch();
}

void TaskManager::OnRemoteLost(uint64_t key, const std::string& why) {
  auto it = tasks_.find(key);
  if (it == tasks_.end() || it->second->state != State::kRemote) return;
  Task* task = it->second.get();
  std::string where = "node " + task->remote_node.Hex();
  task->remote_node = NodeID();
  task->state = State::kRunning;
  // The member may have run it more than once (it retries a worker's death itself, as runs
  // attempt + 1, + 2, ...): the runs from here on start a block of their own, so that no run
  // here or elsewhere has the number, and so the ids of the tasks it submits, of one there.
  task->attempt = ((task->attempt / kAttemptBlock) + 1) * kAttemptBlock - 1;
  OnRunningTaskLost(task, where + " (" + why + ")");
  TryDispatch();
}

void TaskManager::OnRemoteRefused(uint64_t key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end() || it->second->state != State::kRemote) return;
  it->second->remote_node = NodeID();
  Enqueue(it->second.get());
}

bool TaskManager::CanStartNow(const ResourceSet& demand) const {
  return ready_.empty() && resources_.IsFeasible(demand) &&
         demand.IsSubsetOf(resources_.available());
}

void TaskManager::RetryInfeasible() {
  std::vector<uint64_t> keys;
  keys.swap(infeasible_);
  for (uint64_t key : keys) {
    auto it = tasks_.find(key);
    if (it != tasks_.end() && it->second->state == State::kQueued) Enqueue(it->second.get());
  }
}

void TaskManager::OnWorkerBlocked(Worker* worker) {
  auto lease = leases_.find(worker);
  if (lease != leases_.end() && !lease->second.returned) {
    if (lease->second.blocked) return;
    lease->second.blocked = true;
    resources_.ReleaseCpu(NodeResources::CpuShare(lease->second.allocation.amounts));
    TryDispatch();
    return;
  }
  auto it = tasks_.find(worker->task_key);
  if (it == tasks_.end() || worker->blocked) return;
  worker->blocked = true;
  resources_.ReleaseCpu(NodeResources::CpuShare(it->second->allocation.amounts));
  TryDispatch();
}

void TaskManager::OnWorkerUnblocked(Worker* worker) {
  auto lease = leases_.find(worker);
  if (lease != leases_.end() && !lease->second.returned) {
    if (!lease->second.blocked) return;
    lease->second.blocked = false;
    resources_.ReacquireCpu(NodeResources::CpuShare(lease->second.allocation.amounts));
    return;
  }
  auto it = tasks_.find(worker->task_key);
  if (it == tasks_.end() || !worker->blocked) return;
  worker->blocked = false;
  resources_.ReacquireCpu(NodeResources::CpuShare(it->second->allocation.amounts));
}

bool TaskManager::Cancel(const TaskID& task_id, bool force, bool recursive) {
  auto by_id = by_id_.find(task_id);
  if (by_id == by_id_.end()) return false;  // Finished already, or never here: nothing to do.
  Task* task = tasks_.at(by_id->second).get();
  if (task->on_lease) return false;  // Leases have ids of their own that nobody names.
  task->cancelled = true;
  switch (task->state) {
    case State::kWaitingForArgs:
    case State::kQueued:
      ready_.Remove(task->key);
      infeasible_.erase(std::remove(infeasible_.begin(), infeasible_.end(), task->key),
                        infeasible_.end());
      FinishWithValue(task, SystemErrorValue(SystemErrorCode::kTaskCancelled,
                                             "task " + task->spec.name + " was cancelled"));
      return false;
    case State::kRunning: {
      Worker* worker = task->worker;
      if (force || worker->connection == nullptr) {
        pool_->Signal(worker, force ? SIGKILL : SIGINT);
        return true;
      }
      // Named first, so that the worker knows which task the signal is for (see CancelTask); the
      // signal goes once the name is in the worker's socket, where the worker looks when it comes.
      // (Sent at once, it could come before the frame was written, and find nothing.)
      flatbuffers::FlatBufferBuilder b(64);
      ObjectID first_return = ObjectID::ForReturn(task->spec.task_id, 0);
      auto id = b.CreateVector(first_return.data(), ObjectID::kSize);
      worker->connection->Send(FinishEnvelope(b, wire::CreateCancelTask(b, id, false)));
      uint64_t key = task->key;
      WorkerID worker_id = worker->id;
      worker->connection->AfterWritten([this, key, worker_id] {
        auto it = tasks_.find(key);
        if (it == tasks_.end() || it->second->worker == nullptr ||
            it->second->worker->id != worker_id) {
          return;  // Ended meanwhile: no signal to stray into its worker's next task.
        }
        pool_->Signal(it->second->worker, SIGINT);
        if (resignal_ != nullptr) resignal_->Track(key, worker_id);
      });
      return true;
    }
    case State::kRemote:
      // The member cancels its copy (and what it submitted); the error comes back as the result.
      remote_->Cancel(task->remote_node, task->spec.task_id, force, recursive);
      return true;
  }
  return false;
}

void TaskManager::EnableCancelResignal(EventLoop* loop) {
  constexpr uint64_t kResignalMs = 1000;
  resignal_ = std::make_unique<CancelResignal>(
      loop,
      [this](uint64_t key, const WorkerID& worker_id) {
        auto it = tasks_.find(key);
        if (it == tasks_.end() || it->second->worker == nullptr ||
            it->second->worker->id != worker_id) {
          return false;  // Ended: its worker may run another task now.
        }
        pool_->Signal(it->second->worker, SIGINT);
        return true;
      },
      kResignalMs);
}

bool TaskManager::HasTask(const TaskID& task_id) const {
  auto by_id = by_id_.find(task_id);
  return by_id != by_id_.end() && !tasks_.at(by_id->second)->on_lease;
}

void TaskManager::AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const {
  for (const auto& [key, task] : tasks_) {
    if (!task->on_lease && task->spec.parent == parent) children->push_back(task->spec.task_id);
  }
}

void TaskManager::ReleaseAllocation(const Allocation& allocation) {
  resources_.Release(allocation);
  TryDispatch();
}

void TaskManager::Prestart(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    Status s = pool_->StartWorker();
    if (!s.ok()) {
      RAYX_LOG(Warning) << s;
      return;
    }
  }
}

void TaskManager::MaybeStartWorkers() {
  if (ready_.empty() || pool_->num_idle() > 0) return;
  if (pool_->consecutive_start_failures() >= kMaxStartFailures) {
    // Workers die before they can say hello (their stderr, forwarded, says why): starting more
    // would loop for ever, so the tasks that wait for one fail instead.
    FailWaitingForWorkers("workers fail to start on this node");
    return;
  }
  // Enough workers for the CPUs that are free now, and at least one, counting those starting.
  double free_cpus = std::max(0.0, resources_.available().Get(kCpu));
  size_t wanted = std::min<size_t>(ready_.size(),
                                   std::max<size_t>(1, static_cast<size_t>(std::ceil(free_cpus))));
  while (pool_->num_starting() < wanted) {
    Status s = pool_->StartWorker();
    if (!s.ok()) {
      // Out of descriptors, processes or memory (ulimit -n, ulimit -u): what waits for a worker
      // waits for one to come free, or fails now when none can.
      if (!WorkerMayComeFree()) {
        FailWaitingForWorkers("this node cannot start a worker process (" + s.message() +
                              "; check `ulimit -n` and `ulimit -u`)");
      } else if (!start_failure_reported_) {
        RAYX_LOG(Warning) << "cannot start another worker: " << s
                          << "; tasks wait for a worker to come free";
      }
      start_failure_reported_ = true;
      return;
    }
    start_failure_reported_ = false;
  }
}

bool TaskManager::WorkerMayComeFree() const {
  if (pool_->num_starting() > 0 || pool_->num_idle() > 0 || !leases_.empty()) return true;
  for (const auto& [key, task] : tasks_) {
    if (task->state == State::kRunning && task->worker != nullptr) return true;
  }
  return false;
}

void TaskManager::FailWaitingForWorkers(const std::string& why) {
  // Those that lack only a worker: a task waiting for resources that something holds waits on.
  std::vector<uint64_t> queued;
  for (auto& [key, task] : tasks_) {
    if (task->state == State::kQueued && task->spec.resources.IsSubsetOf(resources_.available()) &&
        ready_.Remove(key)) {
      queued.push_back(key);
    }
  }
  for (uint64_t key : queued) {
    auto it = tasks_.find(key);
    if (it == tasks_.end()) continue;
    Task* task = it->second.get();
    if (task->on_lease) {
      LeaseFailedCallback failed = std::move(task->on_lease_failed);
      std::string name = task->spec.name;
      Forget(task);
      if (failed) failed(why + "; " + name + " cannot be placed");
    } else {
      FinishWithValue(task, SystemErrorValue(SystemErrorCode::kWorkerDied,
                                             why + "; task " + task->spec.name + " cannot run"));
    }
  }
}

}  // namespace rayx
