#include "engine/sched/bundle_placement.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

NodeID Node(char tag) { return NodeID::FromBinary(std::string(NodeID::kSize, tag)); }

// Members a, b, c, ... with these CPUs, all free.
std::vector<MemberResources> Members(const std::vector<double>& cpus) {
  std::vector<MemberResources> members;
  for (size_t i = 0; i < cpus.size(); ++i) {
    ResourceSet r = Res({{"CPU", cpus[i]}});
    members.push_back(MemberResources{Node(static_cast<char>('a' + i)), r, r});
  }
  return members;
}

std::vector<ResourceSet> Cpus(const std::vector<double>& cpus) {
  std::vector<ResourceSet> bundles;
  for (double c : cpus) bundles.push_back(Res({{"CPU", c}}));
  return bundles;
}

BundlePlacement Place(PlacementStrategy s, const std::vector<ResourceSet>& bundles,
                      const std::vector<MemberResources>& members,
                      std::vector<NodeID> placed = {}) {
  placed.resize(bundles.size());
  return PlaceBundles(s, bundles, placed, members);
}

using Outcome = BundlePlacement::Outcome;

TEST(BundlePlacementTest, StrictSpreadPutsEachBundleOnAMemberOfItsOwn) {
  BundlePlacement p = Place(PlacementStrategy::kStrictSpread, Cpus({1, 1, 1}), Members({2, 2, 2}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(std::set<NodeID>(p.nodes.begin(), p.nodes.end()).size(), 3u);
  EXPECT_EQ(p.nodes[0], Node('a'));  // The creator first.
}

TEST(BundlePlacementTest, StrictSpreadOverFewerMembersNeverFits) {
  EXPECT_EQ(Place(PlacementStrategy::kStrictSpread, Cpus({1, 1, 1}), Members({4, 4})).outcome,
            Outcome::kNever);
}

TEST(BundlePlacementTest, StrictSpreadSearchesSoABigBundleKeepsTheBigMember) {
  // The small bundle first would take a, the only member that can hold the big one.
  BundlePlacement p = Place(PlacementStrategy::kStrictSpread, Cpus({1, 3}), Members({3, 1}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('b'), Node('a')}));
}

TEST(BundlePlacementTest, StrictSpreadWaitsWhenAMemberIsBusy) {
  std::vector<MemberResources> members = Members({1, 1});
  members[1].available = Res({});
  EXPECT_EQ(Place(PlacementStrategy::kStrictSpread, Cpus({1, 1}), members).outcome, Outcome::kWait);
}

TEST(BundlePlacementTest, PackKeepsEverythingOnOneMemberWhenItFits) {
  BundlePlacement p = Place(PlacementStrategy::kPack, Cpus({1, 1}), Members({1, 2, 2}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('b'), Node('b')}));
}

TEST(BundlePlacementTest, PackThatFitsNoOneMemberSpreadsOverFew) {
  BundlePlacement p = Place(PlacementStrategy::kPack, Cpus({1, 1, 1}), Members({2, 2, 2}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  // As few members as the greedy packing needs: two on a, one on b.
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('a'), Node('a'), Node('b')}));
}

TEST(BundlePlacementTest, StrictPackGoesToAnotherMemberOrWaits) {
  BundlePlacement p = Place(PlacementStrategy::kStrictPack, Cpus({1, 1}), Members({1, 2}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('b'), Node('b')}));
  EXPECT_EQ(Place(PlacementStrategy::kStrictPack, Cpus({2, 2}), Members({2, 2})).outcome,
            Outcome::kNever);
  std::vector<MemberResources> busy = Members({2, 2});
  busy[0].available = Res({{"CPU", 1}});
  busy[1].available = Res({{"CPU", 1}});
  EXPECT_EQ(Place(PlacementStrategy::kStrictPack, Cpus({1, 1}), busy).outcome, Outcome::kWait);
}

TEST(BundlePlacementTest, SpreadUsesEveryMemberBeforeDoublingUp) {
  BundlePlacement p = Place(PlacementStrategy::kSpread, Cpus({1, 1, 1, 1}), Members({4, 4, 4}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('a'), Node('b'), Node('c'), Node('a')}));
  // With one member it all goes there, as on one node.
  p = Place(PlacementStrategy::kSpread, Cpus({1, 1}), Members({2}));
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('a'), Node('a')}));
}

TEST(BundlePlacementTest, ReschedulingPlacesOnlyTheLostBundlesByTheRules) {
  // Bundle 1's member died: STRICT_SPREAD puts it on a member that holds no other bundle.
  std::vector<MemberResources> members = Members({1, 1, 1});
  members[0].available = Res({});  // a holds bundle 0.
  BundlePlacement p =
      Place(PlacementStrategy::kStrictSpread, Cpus({1, 1}), members, {Node('a'), NodeID()});
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('a'), Node('b')}));
  // PACK goes back to the member that holds the others when it has room.
  members = Members({3, 1});
  members[0].available = Res({{"CPU", 2}});
  p = Place(PlacementStrategy::kPack, Cpus({1, 1}), members, {Node('a'), NodeID()});
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes[1], Node('a'));
}

TEST(BundlePlacementTest, CustomResourcesDecideTheMember) {
  // Only b has "b", only a has a CPU: PACK cannot keep them together.
  std::vector<MemberResources> members = Members({1, 0});
  members[1].total.Set("b", 1);
  members[1].available.Set("b", 1);
  BundlePlacement p =
      Place(PlacementStrategy::kPack, {Res({{"CPU", 1}}), Res({{"b", 1}})}, members);
  ASSERT_EQ(p.outcome, Outcome::kPlaced);
  EXPECT_EQ(p.nodes, (std::vector<NodeID>{Node('a'), Node('b')}));
}

}  // namespace
}  // namespace rayx
