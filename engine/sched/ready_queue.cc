#include "engine/sched/ready_queue.h"

#include <optional>

#include "engine/base/logging.h"

namespace rayx {

void ReadyQueue::Push(TaskKey key, const ResourceSet& demand, uint32_t depth) {
  RAYX_CHECK(!dispatching_) << "Push from inside Dispatch";
  RAYX_CHECK(where_.count(key) == 0) << "task " << key << " is queued already";
  auto found = by_demand_.find(demand);
  std::list<SchedulingClass>::iterator cls;
  if (found == by_demand_.end()) {
    cls = classes_.insert(classes_.end(), SchedulingClass{demand, {}});
    by_demand_.emplace(demand, cls);
  } else {
    cls = found->second;
  }
  Position position(-static_cast<int64_t>(depth), arrivals_++);
  cls->tasks.emplace(position, key);
  where_.emplace(key, std::make_pair(cls, position));
}

bool ReadyQueue::Remove(TaskKey key) {
  RAYX_CHECK(!dispatching_) << "Remove from inside Dispatch";
  auto found = where_.find(key);
  if (found == where_.end()) return false;
  auto [cls, position] = found->second;
  where_.erase(found);
  cls->tasks.erase(position);
  if (cls->tasks.empty()) {
    by_demand_.erase(cls->demand);
    classes_.erase(cls);
  }
  return true;
}

size_t ReadyQueue::Dispatch(NodeResources* resources, const DispatchFn& dispatch) {
  RAYX_CHECK(!dispatching_) << "Dispatch from inside Dispatch";
  dispatching_ = true;
  size_t dispatched = 0;
  // Granting only ever uses resources up, so one pass suffices: a class skipped because its head
  // did not fit would not fit later in the same call either.
  for (auto cls = classes_.begin(); cls != classes_.end();) {
    while (!cls->tasks.empty()) {
      TaskKey key = cls->tasks.begin()->second;
      std::optional<Allocation> allocation = resources->TryAllocate(cls->demand);
      if (!allocation.has_value()) break;
      if (!dispatch(key, *allocation)) {
        resources->Release(*allocation);
        break;
      }
      cls->tasks.erase(cls->tasks.begin());
      where_.erase(key);
      ++dispatched;
    }
    if (cls->tasks.empty()) {
      by_demand_.erase(cls->demand);
      cls = classes_.erase(cls);
    } else {
      ++cls;
    }
  }
  dispatching_ = false;
  return dispatched;
}

}  // namespace rayx
