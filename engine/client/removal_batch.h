// RemovalBatch: reference removals that wait to travel with the next frame to the node.
//
// Dropping the last ObjectRef of an id used to cost one RefCountUpdate message at once. The
// removals now wait in a RemovalBatch and go out together, in front of the next frame the
// process sends (or on their own after a short delay, see ReferenceCounter). A removal must never
// overtake a later add of the same id: when an id is added again while its removal waits, the
// removal is cancelled and neither message is sent (the node still counts this process as a
// holder, which is what the add would have told it).
//
// Not thread-safe: the owner guards it with its own mutex.
#pragma once

#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"

namespace rayx {

class RemovalBatch {
 public:
  // The process no longer holds id: tell the node later.
  void Defer(const ObjectID& id);
  // The process holds id again. Returns true when a waiting removal of id was cancelled: then
  // the node must hear nothing of this add.
  bool Cancel(const ObjectID& id);
  // The removals to send now, each id once, in the order they were deferred; leaves the batch
  // empty.
  std::vector<ObjectID> Take();
  bool empty() const { return waiting_.empty(); }

 private:
  std::vector<ObjectID> order_;           // May list cancelled ids, and an id more than once.
  std::unordered_set<ObjectID> waiting_;  // The ids whose removal is still to be sent.
};

}  // namespace rayx
