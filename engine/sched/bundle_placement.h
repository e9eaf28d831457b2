// Which cluster member holds which bundle of a placement group, by Ray's four strategies.
//
// Given the members (the creating node first, then the others in a fixed order) with what each
// has in total and free now, and the bundles of a group of which some may be placed already (a
// group whose member died, being rescheduled), PlaceBundles assigns each unplaced bundle to a
// member:
//   STRICT_PACK    all bundles on one member (the one that holds the placed ones, if any).
//   PACK           all on one member when one can hold them; else each bundle in turn on the
//                  member that holds the most of the group's bundles already and has room.
//   SPREAD         each bundle in turn on the member with room that holds the fewest of the
//                  group's bundles (ties: earlier members first), so that bundles share a member
//                  only when there are not enough members with room.
//   STRICT_SPREAD  each bundle on a member of its own (never one that holds another bundle of
//                  the group); found by search, so that a big bundle is not left without a member
//                  by a small one placed first.
// Among members that qualify alike, the earlier one wins: the creator first. The outcome is
// kPlaced (nodes says where each bundle goes), kWait (it would fit the members' totals, not what
// they have free now) or kNever (not even their totals hold it: fewer members than STRICT_SPREAD
// has bundles, or bundles bigger than any member). A member's figures for another may be stale;
// the reservation that follows (a two-phase prepare and commit) is what makes it so.
//
// Pure logic, no I/O.
#pragma once

#include <vector>

#include "engine/base/ids.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/sched/resource_set.h"

namespace rayx {

struct MemberResources {
  NodeID id;
  ResourceSet total;
  ResourceSet available;
};

struct BundlePlacement {
  enum class Outcome { kPlaced, kWait, kNever };
  Outcome outcome = Outcome::kWait;
  // Per bundle, the member that holds it (placed ones as given); only when kPlaced.
  std::vector<NodeID> nodes;
};

// placed: one entry per bundle, a nil NodeID for a bundle to place (the caller clears those of
// members that died). A placed bundle's amounts are out of its member's free figures already.
BundlePlacement PlaceBundles(PlacementStrategy strategy, const std::vector<ResourceSet>& bundles,
                             const std::vector<NodeID>& placed,
                             const std::vector<MemberResources>& members);

}  // namespace rayx
