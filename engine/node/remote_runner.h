// RemoteRunner: what a TaskManager asks of the cluster (cluster_work.h implements it): where a task
// should run, and running it on another member. A node without peers has none, and its tasks all
// run here at no cost.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/node/task_spec.h"
#include "engine/objects/object_table.h"

namespace rayx {

// One return of a task that ran on another member: inline, or (value.in_shm) stored on location.
struct RemoteResult {
  StoredValue value;
  NodeID location;  // Nil for an inline value.
};

class RemoteRunner {
 public:
  virtual ~RemoteRunner() = default;
  // Where spec should run: nil for this node. fits_now: this node could start it now; feasible:
  // this node has the resources at all. An error fails the task (a hard affinity to a member that
  // is dead or cannot run it).
  virtual StatusOr<NodeID> Place(const TaskSpec& spec, bool fits_now, bool feasible) = 0;
  // Runs the task on node; the TaskManager hears the outcome through OnRemoteDone or OnRemoteLost
  // (never from inside this call). spec's dependencies are available on this node.
  // attempt: this run's number (TaskManager's), which the member runs it as.
  virtual void Run(const NodeID& node, uint64_t key, const TaskSpec& spec, uint32_t attempt) = 0;
  // Cancels a task sent to node (recursive: and the tasks it submitted there).
  virtual void Cancel(const NodeID& node, const TaskID& task_id, bool force, bool recursive) = 0;
  // A borrowed object (ObjectTable::CreateBorrowed) whose copies here are lost is needed: asks
  // its lender for it again, or seals it OWNER_DIED when the lender is dead.
  virtual void RecoverBorrowed(const ObjectID& id, const NodeID& lender) = 0;
  // The total resources of the other live members, for a message ("node 1a2b...: {CPU: 2}; ...").
  virtual std::string DescribeMembers() = 0;
};

}  // namespace rayx
