// PlacementGroupManager: the placement groups this node's clients create, as Ray's are.
//
// A group's bundles are reserved on this node all at once or not at all
// (TaskManager::ReserveBundles, with the derived resources of placement_group_resources.h). A
// group that does not fit what is free waits (pending), in the order created, and is tried again
// whenever resources may have come free (before each dispatch) and is reserved the moment it
// fits. One that can never fit this node (STRICT_SPREAD of more than one bundle, or more than
// the node has in all) stays pending without holding back the groups after it. Removing a
// group kills its actors, fails its tasks that wait, cancels those that run and frees what it
// reserved; the removed group stays in the table (state removed) as in Ray. A group that is not
// detached is removed when the driver session that created it closes.
//
// The groups live on the node of the client that creates them: in a cluster, every bundle is on
// that node (what a cluster does with SPREAD or STRICT_SPREAD of several bundles is the caller's
// to refuse, see NodeService).
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/node/actor_manager.h"
#include "engine/node/task_manager.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/sched/resource_set.h"

namespace rayx {

class PlacementGroupManager {
 public:
  enum class State { kPending = 0, kCreated = 1, kRemoved = 2 };
  struct Group {
    std::string id;  // kPlacementGroupIdSize raw bytes.
    std::string hex;
    std::string name;  // "" when not named.
    PlacementStrategy strategy = PlacementStrategy::kPack;
    std::vector<ResourceSet> bundles;
    bool detached = false;
    uint64_t creator_session = 0;  // 0: nobody's (detached, or made by a worker).
    State state = State::kPending;
  };

  // Both outlive the manager.
  PlacementGroupManager(const NodeID& node_id, TaskManager* tasks, ActorManager* actors);
  ~PlacementGroupManager();

  // Takes a new group and reserves it now if it fits (else it is pending). InvalidArgument for a
  // bad id, strategy or bundles; AlreadyExists for an id or a live name already taken.
  StatusOr<const Group*> Create(Group group);
  // Removes the group (see above). NotFound for an unknown id; a group removed already is left
  // as it is.
  Status Remove(const std::string& id);
  // The group with this id, or the live group of this name; null when there is none.
  const Group* Find(const std::string& id) const;
  const Group* FindByName(const std::string& name) const;
  // Every group, in the order created (removed ones included, the latest kMaxRemembered).
  std::vector<const Group*> All() const;
  // The session closed: the groups it created and did not detach are removed.
  void OnSessionClosed(uint64_t session);

  const NodeID& node_id() const { return node_id_; }

  static constexpr size_t kMaxRemembered = 1000;

 private:
  // Reserves waiting groups, in order, while they fit.
  void ReservePending();
  bool TryReserve(Group* group);
  // STRICT_SPREAD of several bundles, or more than the node has in all.
  bool NeverFits(const Group& group) const;
  void Unreserve(Group* group, const std::string& why);
  void UpdateHook();

  NodeID node_id_;
  TaskManager* tasks_;
  ActorManager* actors_;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
  std::vector<std::string> order_;   // Ids, in the order created.
  std::deque<std::string> pending_;  // Ids of the groups waiting to be reserved, in order.
  std::deque<std::string> removed_;  // Ids of removed groups, oldest first.
  bool reserving_ = false;           // Inside TryReserve.
};

}  // namespace rayx
