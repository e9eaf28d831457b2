// BundleHost: the placement group bundles that this node holds, for whichever node created the
// group (itself or another member), in the two phases of the creator's reservation
// (placement_group_manager.h): Prepare takes the bundles' resources, Commit makes their derived
// resources appear so that the group's work can run here, Return gives them back.
//
// Each bundle is the creator's: only the node that prepared it may commit or return it (a request
// naming another's bundle is ignored). When the creator goes (it died, or its link to this node
// closed), everything it held here is returned, as when it removes the group: the group's actors
// here are killed and its tasks here fail or are cancelled.
//
// Thread: the node's loop thread only.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/node/actor_manager.h"
#include "engine/node/task_manager.h"
#include "engine/sched/resource_set.h"

namespace rayx {

class BundleHost {
 public:
  // Both outlive the host.
  BundleHost(TaskManager* tasks, ActorManager* actors) : tasks_(tasks), actors_(actors) {}

  // Phase one: takes what the bundles (index, amounts) of the group whose hex this is ask for
  // from what this node has free, all of them or none: false, with nothing held, when they do not
  // fit now or one of them is held here already.
  bool Prepare(const NodeID& creator, const std::string& hex,
               const std::vector<std::pair<int, ResourceSet>>& bundles);
  // Phase two: the prepared bundles' derived resources appear; work that waited for them runs.
  void Commit(const NodeID& creator, const std::string& hex, const std::vector<int>& indexes);
  // Gives bundles back, prepared or committed. When one of them was committed and end_work is
  // set, the group's work here ends with why (its actors killed, its tasks failed or cancelled);
  // the creator's own node ends it itself, before (PlacementGroupManager).
  void Return(const NodeID& creator, const std::string& hex, const std::vector<int>& indexes,
              const std::string& why, bool end_work = true);
  // The creator is gone: every bundle it holds here is returned, its groups' work ended.
  void OnCreatorGone(const NodeID& creator, const std::string& why);

  size_t num_bundles() const { return held_.size(); }

 private:
  struct Held {
    NodeID creator;
    bool committed = false;
  };
  TaskManager* tasks_;
  ActorManager* actors_;
  std::map<std::pair<std::string, int>, Held> held_;  // (group hex, bundle index).
};

}  // namespace rayx
