// TaskManager: the lineage of finished tasks kept in memory, and the re-runs that rebuild an
// object whose copies are all lost.
#include <algorithm>
#include <tuple>

#include "engine/base/logging.h"
#include "engine/node/task_manager.h"
#include "engine/node/task_retry_budget.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"

namespace rayx {

void TaskManager::KeepLineage(std::unique_ptr<Task>* owned) {
  Task* task = owned->get();
  const TaskSpec& spec = task->spec;
  // A forwarded task's lineage is kept by the member that forwarded it.
  if (spec.actor_creation || spec.is_actor_call() || task->on_lease || spec.from_peer) return;
  // One lookup: a new entry when a return is still held, else only an entry kept already.
  auto kept = lineage_.end();
  bool added = false;
  if (task->results_held) {
    std::tie(kept, added) = lineage_.try_emplace(spec.task_id);
  } else {
    kept = lineage_.find(spec.task_id);
  }
  if (kept == lineage_.end()) return;
  if (!added) {  // A rebuild finished: what is left of the budget is kept.
    kept->second.retries_left = task->retries_left;
    kept->second.attempts = task->attempt + 1;
    return;
  }
  for (const ObjectID& id : spec.dependencies) {
    auto dep = id.IsPut() ? lineage_.end() : lineage_.find(id.Task());
    if (dep != lineage_.end()) dep->second.dependents++;
  }
  Lineage& lineage = kept->second;
  task->spec.direct_worker = WorkerID();  // A rebuild takes the node's path.
  lineage.retries_left = task->retries_left;
  lineage.attempts = task->attempt + 1;
  lineage.task = std::move(*owned);
}

void TaskManager::MaybeDropLineage(const TaskID& task_id) {
  auto it = lineage_.find(task_id);
  if (it == lineage_.end() || it->second.dependents > 0) return;
  const TaskSpec& spec = it->second.task->spec;
  for (uint32_t i = 0; i < spec.num_returns; ++i) {
    if (objects_->Exists(ObjectID::ForReturn(task_id, i))) return;
  }
  std::vector<ObjectID> dependencies = std::move(it->second.task->spec.dependencies);
  lineage_.erase(it);
  for (const ObjectID& id : dependencies) {
    if (id.IsPut()) continue;
    auto dep = lineage_.find(id.Task());
    if (dep == lineage_.end()) continue;
    dep->second.dependents--;
    MaybeDropLineage(id.Task());
  }
}

void TaskManager::RebuildLost(const ObjectID& id) {
  auto lost = [this, &id](const std::string& why) {
    objects_->Seal(id, SystemErrorValue(SystemErrorCode::kObjectLost,
                                        "the copies of object " + id.Hex() + " were lost, " + why));
  };
  if (NodeID lender = objects_->Lender(id); !lender.IsNil()) {
    // Another member owns it: that member has its lineage, and is asked for it again.
    if (remote_ != nullptr) return remote_->RecoverBorrowed(id, lender);
    return lost("and its owner, node " + lender.Hex() + ", can no longer be reached");
  }
  if (id.IsPut()) return lost("and an object made by put cannot be rebuilt");
  TaskID task_id = id.Task();
  if (by_id_.count(task_id) != 0) return;  // Running already (rebuilt for another return).
  auto it = lineage_.find(task_id);
  if (it == lineage_.end()) {
    return lost("and no lineage is kept for it (an actor's result, or its task is gone)");
  }
  Lineage& lineage = it->second;
  if (lineage.retries_left == 0) {
    return lost("and task " + lineage.task->spec.name +
                " that made it has no retries left to rebuild it (max_retries=" +
                std::to_string(lineage.task->spec.max_retries) + ")");
  }
  if (lineage.retries_left > 0) lineage.retries_left--;
  num_rebuilt_++;
  RAYX_LOG(Info) << "object " << id.Hex() << " was lost; running task " << lineage.task->spec.name
                 << " again to rebuild it (" << RetriesLeftText(lineage.retries_left) << ")";
  // References nested in its arguments that were freed since: lost, so that a get of one in the
  // task rebuilds it or fails, rather than waiting for a value that never comes.
  for (const ObjectID& nested : lineage.task->spec.contained) {
    if (!objects_->Exists(nested)) objects_->CreateLost(nested);
  }
  // Its other returns are sealed too: a lost one is rebuilt, a second value of one that is not is
  // dropped.
  Status s = SubmitWithBudget(TaskSpec(lineage.task->spec), lineage.retries_left, lineage.attempts);
  if (!s.ok()) lost("and running its task again failed: " + s.ToString());
}

StatusOr<bool> TaskManager::LoseCopies(const ObjectID& id) {
  RAYX_ASSIGN_OR_RETURN(bool dropped, objects_->DropCopies(id));
  if (!dropped) return false;
  std::vector<uint64_t> affected;
  for (auto& [key, task] : tasks_) {
    if (task->on_lease || task->state == State::kRunning || task->state == State::kRemote) continue;
    const auto& deps = task->spec.dependencies;
    if (std::find(deps.begin(), deps.end(), id) != deps.end()) affected.push_back(key);
  }
  for (uint64_t key : affected) {
    auto it = tasks_.find(key);
    if (it == tasks_.end() || it->second->state == State::kRunning ||
        it->second->state == State::kRemote)
      continue;
    Task* task = it->second.get();
    bool queued = task->state == State::kQueued;
    if (queued) {
      if (!ready_.Remove(key)) {
        infeasible_.erase(std::remove(infeasible_.begin(), infeasible_.end(), key),
                          infeasible_.end());
      }
      task->state = State::kWaitingForArgs;
      task->args_pending = 1;  // So that no callback finishes the count early.
    }
    task->args_pending++;
    uint64_t handle = objects_->OnAvailable(id, [this, key] { OnArgReady(key); });
    it = tasks_.find(key);
    if (it == tasks_.end()) continue;
    if (!objects_->IsAvailable(id)) it->second->arg_waiters.emplace_back(id, handle);
    if (queued) OnArgReady(key);
  }
  return true;
}

}  // namespace rayx
