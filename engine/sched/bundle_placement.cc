#include "engine/sched/bundle_placement.h"

#include <optional>

namespace rayx {
namespace {

// One try of the strategy against room (per member, what it can still take): where each bundle
// goes, or nullopt when it does not fit.
class Assigner {
 public:
  Assigner(const std::vector<ResourceSet>& bundles, const std::vector<NodeID>& placed,
           const std::vector<MemberResources>& members, std::vector<ResourceSet> room)
      : bundles_(bundles),
        members_(members),
        room_(std::move(room)),
        nodes_(placed),
        count_(members.size(), 0) {
    for (const NodeID& node : placed) {
      int m = IndexOf(node);
      if (m >= 0) ++count_[m];
    }
    for (size_t i = 0; i < bundles.size(); ++i) {
      if (placed[i].IsNil()) todo_.push_back(i);
    }
  }

  std::optional<std::vector<NodeID>> Run(PlacementStrategy strategy) {
    switch (strategy) {
      case PlacementStrategy::kStrictPack:
        return AllOnOne(/*strict=*/true) ? std::optional(nodes_) : std::nullopt;
      case PlacementStrategy::kPack:
        if (AllOnOne(/*strict=*/false)) return nodes_;
        return Greedy(/*most=*/true) ? std::optional(nodes_) : std::nullopt;
      case PlacementStrategy::kSpread:
        return Greedy(/*most=*/false) ? std::optional(nodes_) : std::nullopt;
      case PlacementStrategy::kStrictSpread:
        return Distinct(0) ? std::optional(nodes_) : std::nullopt;
    }
    return std::nullopt;
  }

 private:
  int IndexOf(const NodeID& node) const {
    for (size_t m = 0; m < members_.size(); ++m) {
      if (members_[m].id == node) return static_cast<int>(m);
    }
    return -1;
  }

  void Put(size_t bundle, size_t m) {
    nodes_[bundle] = members_[m].id;
    room_[m].Subtract(bundles_[bundle]);
    ++count_[m];
  }

  void Take(size_t bundle, size_t m) {
    nodes_[bundle] = NodeID();
    room_[m].Add(bundles_[bundle]);
    --count_[m];
  }

  // Every bundle to place on one member: one that holds placed bundles when there is one (STRICT
  // has to; PACK prefers it), else the first with room for them all.
  bool AllOnOne(bool strict) {
    ResourceSet sum;
    for (size_t i : todo_) sum.Add(bundles_[i]);
    int holder = -1;
    for (size_t m = 0; m < members_.size(); ++m) {
      if (count_[m] > 0) holder = static_cast<int>(m);
    }
    if (strict && holder < 0 && todo_.size() < bundles_.size()) return false;  // Holder is gone.
    std::vector<size_t> order;
    if (holder >= 0) order.push_back(static_cast<size_t>(holder));
    if (!strict || holder < 0) {
      for (size_t m = 0; m < members_.size(); ++m) {
        if (static_cast<int>(m) != holder) order.push_back(m);
      }
    }
    for (size_t m : order) {
      if (sum.IsSubsetOf(room_[m])) {
        for (size_t i : todo_) Put(i, m);
        return true;
      }
    }
    return false;
  }

  // Each bundle in turn on the member with room that holds the most (PACK) or the fewest
  // (SPREAD) of the group's bundles; ties to the earlier member.
  bool Greedy(bool most) {
    for (size_t i : todo_) {
      int best = -1;
      for (size_t m = 0; m < members_.size(); ++m) {
        if (!bundles_[i].IsSubsetOf(room_[m])) continue;
        if (best < 0 || (most ? count_[m] > count_[best] : count_[m] < count_[best])) {
          best = static_cast<int>(m);
        }
      }
      if (best < 0) return false;
      Put(i, static_cast<size_t>(best));
    }
    return true;
  }

  // The bundles from todo_[k] on, each on a member that holds none of the group's bundles:
  // depth-first, earlier members first.
  bool Distinct(size_t k) {
    if (k == todo_.size()) return true;
    size_t i = todo_[k];
    for (size_t m = 0; m < members_.size(); ++m) {
      if (count_[m] != 0 || !bundles_[i].IsSubsetOf(room_[m])) continue;
      Put(i, m);
      if (Distinct(k + 1)) return true;
      Take(i, m);
    }
    return false;
  }

  const std::vector<ResourceSet>& bundles_;
  const std::vector<MemberResources>& members_;
  std::vector<ResourceSet> room_;
  std::vector<NodeID> nodes_;
  std::vector<int> count_;
  std::vector<size_t> todo_;
};

}  // namespace

BundlePlacement PlaceBundles(PlacementStrategy strategy, const std::vector<ResourceSet>& bundles,
                             const std::vector<NodeID>& placed,
                             const std::vector<MemberResources>& members) {
  BundlePlacement result;
  std::vector<NodeID> given = placed;
  given.resize(bundles.size());
  size_t todo = 0;
  for (const NodeID& node : given) todo += node.IsNil() ? 1 : 0;
  // STRICT_SPREAD needs a member per bundle: a search over fewer members is bound to fail.
  if (strategy == PlacementStrategy::kStrictSpread && bundles.size() > members.size()) {
    result.outcome = BundlePlacement::Outcome::kNever;
    return result;
  }
  std::vector<ResourceSet> free, total;
  for (const MemberResources& m : members) {
    free.push_back(m.available);
    total.push_back(m.total);
  }
  if (todo == 0) {
    result.outcome = BundlePlacement::Outcome::kPlaced;
    result.nodes = given;
    return result;
  }
  if (auto nodes = Assigner(bundles, given, members, std::move(free)).Run(strategy)) {
    result.outcome = BundlePlacement::Outcome::kPlaced;
    result.nodes = std::move(*nodes);
    return result;
  }
  result.outcome = Assigner(bundles, given, members, std::move(total)).Run(strategy)
                       ? BundlePlacement::Outcome::kWait
                       : BundlePlacement::Outcome::kNever;
  return result;
}

}  // namespace rayx
