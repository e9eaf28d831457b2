#include "engine/node/cancelled_parents.h"

namespace rayx {

void CancelledParents::Add(const TaskID& parent) {
  if (parent.IsNil() || capacity_ == 0 || !parents_.insert(parent).second) return;
  order_.push_back(parent);
  if (order_.size() > capacity_) {
    parents_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace rayx
