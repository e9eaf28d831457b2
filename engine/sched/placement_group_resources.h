// The resources of placement groups, as Ray names them.
//
// Reserving a group's bundles on a node takes the bundles' resources from what the node has free
// (NodeResources::Reserve) and gives the node derived resources in their place, which only the
// group's tasks and actors ask for. For bundle i of the group whose id is HEX (lower-case hex) and
// each resource R of the bundle with amount a:
//   R_group_i_HEX   += a   (the bundle's own share)
//   R_group_HEX     += a   (the group's, for work placed in any bundle: index -1)
// and for every bundle, whatever it holds:
//   bundle_group_i_HEX += 1000, bundle_group_HEX += 1000
// A task placed in bundle i asks for R_group_i_HEX and R_group_HEX for each R it needs, plus
// bundle_group_i_HEX and bundle_group_HEX 0.001 each (so that work needing no resources is still
// bound to the group, and waits until it is reserved); one placed in any bundle asks for the
// R_group_HEX and bundle_group_HEX names only. The Python layer builds those demands
// (rayx.util.placement_group); the scheduler itself knows nothing of groups.
//
// Pure logic, no I/O.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/sched/resource_set.h"

namespace rayx {

// A placement group id's size in bytes (Ray's PlacementGroupID).
inline constexpr size_t kPlacementGroupIdSize = 18;

// Ray's four strategies.
enum class PlacementStrategy { kPack, kSpread, kStrictPack, kStrictSpread };

// "PACK", "SPREAD", "STRICT_PACK" or "STRICT_SPREAD"; InvalidArgument for anything else.
StatusOr<PlacementStrategy> ParsePlacementStrategy(const std::string& name);
const char* PlacementStrategyName(PlacementStrategy strategy);

// InvalidArgument, saying why, unless there is at least one bundle and each bundle asks for a
// positive amount of something (a set never holds zero or negative entries, see ResourceSet).
Status ValidateBundles(const std::vector<ResourceSet>& bundles);

// The lower-case hex of a group id, as derived names carry it.
std::string PlacementGroupHex(const std::string& id);

// What reserving bundles takes from the node: their sum.
ResourceSet BundlesTotal(const std::vector<ResourceSet>& bundles);

// What reserving bundle index of the group adds to the node that holds it (see above). A node
// that holds several bundles of one group adds each one's: their R_group_HEX add up.
ResourceSet DerivedBundleResources(const std::string& hex, int index, const ResourceSet& bundle);

// What reserving all the group's bundles on one node adds to it (see above).
ResourceSet DerivedResources(const std::string& hex, const std::vector<ResourceSet>& bundles);

// True when demand asks for a resource derived from the group whose hex this is.
bool NamesPlacementGroup(const ResourceSet& demand, const std::string& hex);

}  // namespace rayx
