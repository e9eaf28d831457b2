// PlacementGroupManager: the placement groups this node's clients create, as Ray's are.
//
// This node is a group's coordinator, as Ray's GCS is: it decides which member holds each bundle
// (bundle_placement.h, over this node and the live members as their heartbeats last described
// them) and reserves them there in two phases, as Ray's GCS does over its raylets. Prepare: every
// member chosen (this node through its BundleHost directly, the others by BundleRequest) takes
// its bundles' resources, or says it cannot; once all have, Commit makes the bundles' derived
// resources (placement_group_resources.h) appear on each, and the group is created. When one
// refuses, does not answer within kPrepareTimeoutMs, dies or loses its link, what was prepared is
// returned everywhere and the group waits again. One reservation is in flight at a time. On one
// node, or when every bundle goes to this node, both phases happen at once, in the call.
//
// A group that does not fit now waits (pending), in the order created, and is tried again when
// resources may have come free (before each dispatch here; every kRetryMs while a cluster has
// groups waiting), reserved the moment it fits. One that can never fit the members there are now
// (STRICT_SPREAD of more bundles than members, or bundles bigger than any member) waits without
// holding back the groups after it. Removing a group returns its bundles on every member that
// holds one (which kills the group's actors there and fails or cancels its tasks), fails its work
// here, and keeps it in the table (state removed) as Ray does. A group that is not detached is
// removed when the driver session that created it closes.
//
// When a member that holds bundles of a created group dies (or this node's link to it closes, on
// which the member returns them itself, see BundleHost), the group is rescheduled, as in Ray:
// state rescheduling, its other bundles stay where they are, and the lost ones are placed again
// by the group's strategy, ahead of the groups that wait (on members other than the lost one, for
// kLostMemberPauseMs). If this node dies, its groups go with it
// (each member returns what it held for it), as everything a node owns does.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/loop/event_loop.h"
#include "engine/node/actor_manager.h"
#include "engine/node/bundle_host.h"
#include "engine/node/task_manager.h"
#include "engine/sched/bundle_placement.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/sched/resource_set.h"

namespace rayx {

class PlacementGroupManager {
 public:
  // The values travel in PlacementGroupRecord.state.
  enum class State { kPending = 0, kCreated = 1, kRemoved = 2, kRescheduling = 3 };
  struct Group {
    std::string id;  // kPlacementGroupIdSize raw bytes.
    std::string hex;
    std::string name;  // "" when not named.
    PlacementStrategy strategy = PlacementStrategy::kPack;
    std::vector<ResourceSet> bundles;
    bool detached = false;
    uint64_t creator_session = 0;  // 0: nobody's (detached, or made by a worker).
    State state = State::kPending;
    std::vector<NodeID> nodes;  // Per bundle, the member that holds it; nil while none does.
  };

  // The other members, as this node reaches them. Unset: a node without peers.
  struct Cluster {
    // The live members other than this node, with their totals and what they have free.
    std::function<std::vector<MemberResources>()> members;
    // Sends a BundleRequest frame to a member; false when it cannot (dead, unknown).
    std::function<bool(const NodeID&, std::string_view)> send;
    // Derived resources were committed on a member (added) or returned there (not): this node's
    // view of that member follows at once, before its next heartbeat says so.
    std::function<void(const NodeID&, const ResourceSet&, bool added)> note;
  };

  // All outlive the manager. Construct and destroy on the loop thread.
  PlacementGroupManager(EventLoop* loop, const NodeID& node_id, TaskManager* tasks,
                        ActorManager* actors, BundleHost* host);
  ~PlacementGroupManager();

  void SetCluster(Cluster cluster) { cluster_ = std::move(cluster); }

  // Takes a new group and reserves it now if it fits (else it is pending, or being reserved on
  // members). InvalidArgument for a bad id, strategy or bundles (more than kMaxBundlesPerRequest
  // of them among the bad); AlreadyExists for an id or a live name already taken.
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

  // A member's BundleReply to this node's Prepare (error empty: prepared).
  void OnPrepareReply(const NodeID& from, uint64_t request_id, const std::string& error);
  // A member died, or this node's link to it closed: its bundles are lost (see above).
  void OnMemberLost(const NodeID& node);

  const NodeID& node_id() const { return node_id_; }

  static constexpr size_t kMaxRemembered = 1000;
  static constexpr uint64_t kPrepareTimeoutMs = 10000;
  static constexpr uint64_t kRetryMs = 250;
  // A member lost (its link closed, or it died) is not chosen for bundles for this long: a link
  // that closes is often a member dying, which the others declare only after the heartbeat
  // timeout, and until then it would look like the emptiest member.
  static constexpr uint64_t kLostMemberPauseMs = 5000;

 private:
  // A two-phase reservation in flight.
  struct Round {
    std::string group_id;
    uint64_t request_id = 0;
    uint64_t started_ms = 0;
    std::vector<NodeID> nodes;                  // The group's bundles' members, once it is done.
    std::vector<int> local;                     // Bundles prepared on this node.
    std::map<NodeID, std::vector<int>> remote;  // Bundles asked of each other member.
    std::map<NodeID, bool> answered;            // Per other member: prepared.
  };
  enum class Outcome { kReserved, kStarted, kWait, kNever };

  // Reserves waiting groups, in order, while they fit (one reservation on members at a time).
  void ReservePending();
  Outcome TryReserve(Group* group);
  // Ends the reservation in flight: commits it everywhere (ok), or returns what was prepared.
  void FinishRound(bool ok);
  // Sends a BundleRequest to a member.
  bool Send(const NodeID& node, wire::BundleOp op, const Group& group,
            const std::vector<int>& indexes, const std::string& why, uint64_t request_id = 0);
  ResourceSet DerivedOf(const Group& group, const std::vector<int>& indexes) const;
  void Unreserve(Group* group, const std::string& why);
  void UpdateHook();
  // Keeps the tick running while there is something to retry or time out.
  void Tick();
  void ArmTick();

  EventLoop* loop_;
  NodeID node_id_;
  TaskManager* tasks_;
  ActorManager* actors_;
  BundleHost* host_;
  Cluster cluster_;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
  std::vector<std::string> order_;   // Ids, in the order created.
  std::deque<std::string> pending_;  // Ids of the groups waiting to be reserved, in order.
  std::deque<std::string> removed_;  // Ids of removed groups, oldest first.
  bool reserving_ = false;           // Inside TryReserve or FinishRound.
  std::unique_ptr<Round> round_;
  uint64_t next_request_ = 1;
  std::unique_ptr<Timer> tick_;  // Made on first use, on the loop thread.
  bool ticking_ = false;
  std::map<NodeID, uint64_t> lost_until_ms_;  // See kLostMemberPauseMs.
};

}  // namespace rayx
