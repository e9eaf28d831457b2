// TaskManager: the bundles of placement groups that this node holds (placement_group_manager.h,
// bundle_host.h), and the work that goes with them when they go.
#include <algorithm>

#include "engine/node/task_manager.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/sched/placement_group_resources.h"

namespace rayx {

bool TaskManager::PrepareBundle(const std::string& hex, int index, const ResourceSet& bundle) {
  return resources_.PrepareBundle(hex, index, bundle);
}

void TaskManager::CommitBundles(const std::string& hex, const std::vector<int>& indexes) {
  for (int index : indexes) resources_.CommitBundle(hex, index);
  RetryInfeasible();
  TryDispatch();
}

void TaskManager::ReturnBundles(const std::string& hex, const std::vector<int>& indexes) {
  for (int index : indexes) resources_.ReturnBundle(hex, index);
  TryDispatch();
}

void TaskManager::FailGroupWork(const std::string& hex, const std::string& why) {
  std::vector<uint64_t> keys;
  for (const auto& [key, task] : tasks_) {
    if (NamesPlacementGroup(task->spec.resources, hex)) keys.push_back(key);
  }
  for (uint64_t key : keys) {
    auto it = tasks_.find(key);
    if (it == tasks_.end()) continue;
    Task* task = it->second.get();
    switch (task->state) {
      case State::kWaitingForArgs:
      case State::kQueued:
        ready_.Remove(key);
        infeasible_.erase(std::remove(infeasible_.begin(), infeasible_.end(), key),
                          infeasible_.end());
        if (task->on_lease) {
          LeaseFailedCallback failed = std::move(task->on_lease_failed);
          Forget(task);
          if (failed) failed(why);
        } else {
          FinishWithValue(task, SystemErrorValue(SystemErrorCode::kUnschedulable,
                                                 "task " + task->spec.name + ": " + why));
        }
        break;
      case State::kRunning:
        Cancel(task->spec.task_id, /*force=*/true, /*recursive=*/true);
        break;
      case State::kRemote:
        break;  // The member that runs it fails it there, when the group's bundles go.
    }
  }
  for (auto& [worker, lease] : leases_) {
    if (lease.revoked || lease.returned || !NamesPlacementGroup(lease.allocation.amounts, hex)) {
      continue;
    }
    lease.revoked = true;
    lease.revoke();
  }
}

}  // namespace rayx
