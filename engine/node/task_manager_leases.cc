// TaskManager: workers leased out, to owners that submit to them directly (direct_submitter.h)
// and to the node's own users of a worker (Lease), and the reports that race with their return.
#include <algorithm>

#include "engine/node/task_manager.h"
#include "engine/node/task_spec.h"
#include "engine/wire/messages.h"

namespace rayx {

void TaskManager::RevokeLeasesIfWaiting() {
  if (ready_.empty()) return;
  for (auto& [worker, lease] : leases_) {
    if (lease.revoked || lease.returned) continue;
    lease.revoked = true;
    lease.revoke();  // Sends a message; never reenters this manager.
  }
}

void TaskManager::LeaseToOwner(Worker* worker, const Allocation& allocation,
                               std::function<void()> revoke) {
  // A worker given back idle may still owe reports of its last lease's tasks: those are kept.
  OwnerLease& lease = leases_[worker];
  lease.allocation = allocation;
  lease.revoke = std::move(revoke);
  lease.revoked = lease.returned = lease.blocked = lease.worker_idle = false;
}

void TaskManager::ReturnLease(Worker* worker, bool worker_idle) {
  auto it = leases_.find(worker);
  if (it == leases_.end() || it->second.returned) return;
  OwnerLease& lease = it->second;
  lease.returned = true;
  if (lease.blocked) resources_.ReacquireCpu(NodeResources::CpuShare(lease.allocation.amounts));
  lease.blocked = false;
  resources_.Release(lease.allocation);
  // A TaskDone that came before its SubmitDirect, which the owner sends before the return, is for
  // a task the owner never told of (it died): nothing waits for it.
  for (const auto& [id, early] : lease.early_done) ReleaseEarly(early);
  lease.early_done.clear();
  if (lease.direct_tasks.empty()) {
    EraseLease(it);
    pool_->PushIdle(worker);
  } else if (worker_idle) {
    // Its tasks have ended (the owner has their results); only their reports are on the way.
    lease.worker_idle = true;
    pool_->PushIdle(worker);
  }
  TryDispatch();
}

bool TaskManager::AwaitsDirectReport(Worker* worker, const wire::TaskDone* done) const {
  auto lease = leases_.find(worker);
  if (lease == leases_.end() || lease->second.direct_tasks.empty()) return false;
  auto id = UnpackId<TaskID>(done->task_id());
  return id.ok() && AwaitedDirectTask(lease->second, *id) != nullptr;
}

TaskManager::Task* TaskManager::AwaitedDirectTask(const OwnerLease& lease, const TaskID& id) const {
  auto by_id = by_id_.find(id);
  if (by_id == by_id_.end() || lease.direct_tasks.count(by_id->second) == 0) return nullptr;
  return tasks_.at(by_id->second).get();
}

Status TaskManager::SubmitDirect(TaskSpec spec, bool leased) {
  WorkerID worker_id = spec.direct_worker;
  auto owned = std::make_unique<Task>();
  RAYX_RETURN_IF_ERROR(Adopt(std::move(spec), owned.get()));
  if (!owned->spec.dependencies.empty() || !owned->spec.contained.empty() ||
      !owned->spec.contained_actors.empty()) {
    return ProtocolError("a direct task may not carry object references");
  }
  Task* task = owned.get();
  tasks_.emplace(task->key, std::move(owned));
  by_id_.emplace(task->spec.task_id, task->key);
  Worker* worker = leased ? pool_->Find(worker_id) : nullptr;
  auto lease = worker == nullptr ? leases_.end() : leases_.find(worker);
  if (lease == leases_.end() || lease->second.returned) {
    // The worker died before the node heard of the task (or the owner is confused): as if the
    // worker died running it.
    task->state = State::kRunning;
    OnRunningTaskLost(task, "its leased worker");
    TryDispatch();
    return Status::OK();
  }
  task->state = State::kRunning;
  task->direct = true;
  task->worker = worker;
  if (recorder_) recorder_->Started(task->spec.task_id, worker->pid);
  lease->second.direct_tasks.insert(task->key);
  auto early = lease->second.early_done.find(task->spec.task_id);
  if (early == lease->second.early_done.end()) return Status::OK();
  EarlyDone kept = std::move(early->second);
  lease->second.early_done.erase(early);
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(kept.frame));
  Status finished = FinishRan(task, envelope->message_as_TaskDone());
  ReleaseEarly(kept);
  return finished;
}

TaskManager::EarlyDone TaskManager::KeepEarly(const wire::TaskDone* done, std::string_view frame) {
  EarlyDone early;
  early.frame = std::string(frame);
  if (done->results() != nullptr) {
    for (const auto* value : *done->results()) {
      auto ids = UnpackIds<ObjectID>(value->contained());
      auto actors = UnpackIds<ActorID>(value->contained_actors());
      if (ids.ok()) {
        for (const ObjectID& id : *ids) {
          if (objects_->Exists(id)) early.contained.push_back(id);
        }
      }
      if (actors.ok())
        early.contained_actors.insert(early.contained_actors.end(), actors->begin(), actors->end());
    }
  }
  for (const ObjectID& id : early.contained) objects_->Pin(id);
  if (pin_actor_) {
    for (const ActorID& id : early.contained_actors) pin_actor_(id, +1);
  }
  return early;
}

void TaskManager::EraseLease(std::unordered_map<Worker*, OwnerLease>::iterator lease) {
  for (const auto& [id, early] : lease->second.early_done) ReleaseEarly(early);
  leases_.erase(lease);
}

void TaskManager::ReleaseEarly(const EarlyDone& early) {
  for (const ObjectID& id : early.contained) objects_->Unpin(id);
  if (pin_actor_) {
    for (const ActorID& id : early.contained_actors) pin_actor_(id, -1);
  }
}

StatusOr<uint64_t> TaskManager::Lease(const std::string& name, const ResourceSet& demand,
                                      LeaseCallback on_granted, LeaseFailedCallback on_failed) {
  RAYX_RETURN_IF_ERROR(NodeResources::Validate(demand));
  auto task = std::make_unique<Task>();
  task->key = next_key_++;
  task->spec.task_id =
      TaskID::FromRandom();  // Leases are never looked up by id; this keeps by_id_ apart.
  task->spec.name = name;
  task->spec.resources = demand;
  task->on_lease = std::move(on_granted);
  task->on_lease_failed = std::move(on_failed);
  Task* raw = task.get();
  tasks_.emplace(raw->key, std::move(task));
  by_id_.emplace(raw->spec.task_id, raw->key);
  Enqueue(raw);
  return raw->key;
}

void TaskManager::CancelLease(uint64_t key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end() || !it->second->on_lease) return;
  ready_.Remove(key);
  infeasible_.erase(std::remove(infeasible_.begin(), infeasible_.end(), key), infeasible_.end());
  Forget(it->second.get());
}

}  // namespace rayx
