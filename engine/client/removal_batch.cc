#include "engine/client/removal_batch.h"

namespace rayx {

void RemovalBatch::Defer(const ObjectID& id) {
  if (waiting_.insert(id).second) order_.push_back(id);
}

bool RemovalBatch::Cancel(const ObjectID& id) {
  if (waiting_.erase(id) == 0) return false;
  if (waiting_.empty()) order_.clear();  // Keeps order_ from growing in add/remove churn.
  return true;
}

std::vector<ObjectID> RemovalBatch::Take() {
  std::vector<ObjectID> ids;
  ids.reserve(waiting_.size());
  for (const ObjectID& id : order_) {
    if (waiting_.erase(id) != 0) ids.push_back(id);
  }
  order_.clear();
  waiting_.clear();
  return ids;
}

}  // namespace rayx
