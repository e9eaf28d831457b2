#include "engine/sched/placement_group_resources.h"

#include <gtest/gtest.h>

#include "engine/sched/node_resources.h"

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

TEST(PlacementGroupResourcesTest, DerivedNamesPerBundleAndForTheGroup) {
  std::vector<ResourceSet> bundles = {Res({{"CPU", 1}}), Res({{"CPU", 2}, {"disk", 1}})};
  ResourceSet derived = DerivedResources("ab", bundles);
  EXPECT_EQ(derived, Res({{"CPU_group_0_ab", 1},
                          {"CPU_group_1_ab", 2},
                          {"CPU_group_ab", 3},
                          {"disk_group_1_ab", 1},
                          {"disk_group_ab", 1},
                          {"bundle_group_0_ab", 1000},
                          {"bundle_group_1_ab", 1000},
                          {"bundle_group_ab", 2000}}));
  EXPECT_EQ(BundlesTotal(bundles), Res({{"CPU", 3}, {"disk", 1}}));
}

TEST(PlacementGroupResourcesTest, ValidatesBundlesAndStrategies) {
  EXPECT_EQ(ValidateBundles({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateBundles({Res({{"CPU", 1}}), Res({})}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateBundles({Res({{"CPU", 0.5}})}).ok());
  for (const char* name : {"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}) {
    StatusOr<PlacementStrategy> s = ParsePlacementStrategy(name);
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_STREQ(PlacementStrategyName(*s), name);
  }
  EXPECT_FALSE(ParsePlacementStrategy("pack").ok());
}

TEST(PlacementGroupResourcesTest, HexAndNaming) {
  EXPECT_EQ(PlacementGroupHex(std::string("\x01\xab", 2)), "01ab");
  EXPECT_TRUE(NamesPlacementGroup(Res({{"CPU_group_0_01ab", 1}}), "01ab"));
  EXPECT_TRUE(NamesPlacementGroup(Res({{"CPU", 1}, {"bundle_group_01ab", 0.001}}), "01ab"));
  EXPECT_FALSE(NamesPlacementGroup(Res({{"CPU", 1}}), "01ab"));
  EXPECT_FALSE(NamesPlacementGroup(Res({{"CPU_group_0_ff01ab", 1}}), "01ab"));
  EXPECT_FALSE(NamesPlacementGroup(Res({{"x_01ab", 1}}), "01ab"));
}

TEST(PlacementGroupResourcesTest, ReserveIsAllOrNothingAndUnreserveGivesBack) {
  NodeResources node(Res({{"CPU", 2}}));
  std::vector<ResourceSet> bundles = {Res({{"CPU", 1}}), Res({{"CPU", 1}})};
  ResourceSet derived = DerivedResources("aa", bundles);
  auto held = node.TryAllocate(Res({{"CPU", 1}}));
  ASSERT_TRUE(held);
  // One CPU is free, two are asked for: nothing is taken.
  EXPECT_FALSE(node.Reserve(BundlesTotal(bundles), derived));
  EXPECT_EQ(node.available(), Res({{"CPU", 1}}));
  EXPECT_EQ(node.total(), Res({{"CPU", 2}}));
  node.Release(*held);
  ASSERT_TRUE(node.Reserve(BundlesTotal(bundles), derived));
  EXPECT_EQ(node.available().Get("CPU"), 0);
  EXPECT_EQ(node.total().Get("CPU_group_1_aa"), 1);
  // A task in bundle 1 takes its share; one asking two CPUs of bundle 1 does not fit it.
  auto in_bundle = node.TryAllocate(Res({{"CPU_group_1_aa", 1},
                                         {"CPU_group_aa", 1},
                                         {"bundle_group_1_aa", 0.001},
                                         {"bundle_group_aa", 0.001}}));
  ASSERT_TRUE(in_bundle);
  EXPECT_FALSE(node.IsFeasible(Res({{"CPU_group_1_aa", 2}, {"CPU_group_aa", 2}})));
  // Removed while the task still runs: the CPUs are free again, the derived names go below zero,
  // and back to nothing once the task lets go.
  node.Unreserve(BundlesTotal(bundles), derived);
  EXPECT_EQ(node.total(), Res({{"CPU", 2}}));
  EXPECT_EQ(node.available().Get("CPU"), 2);
  EXPECT_EQ(node.available().Get("CPU_group_1_aa"), -1);
  node.Release(*in_bundle);
  EXPECT_EQ(node.available(), Res({{"CPU", 2}}));
}

TEST(PlacementGroupResourcesTest, GpuBundlesAreNotReserved) {
  NodeResources node(Res({{"CPU", 2}, {"GPU", 1}}));
  std::vector<ResourceSet> bundles = {Res({{"GPU", 1}})};
  EXPECT_FALSE(node.Reserve(BundlesTotal(bundles), DerivedResources("aa", bundles)));
  EXPECT_EQ(node.available(), Res({{"CPU", 2}, {"GPU", 1}}));
}

TEST(PlacementGroupResourcesTest, BlockedTaskLendsItsBundleCpu) {
  ResourceSet amounts = Res({{"CPU_group_0_aa", 1}, {"CPU_group_aa", 1}, {"bundle_group_aa", 1}});
  EXPECT_EQ(NodeResources::CpuShare(amounts), Res({{"CPU_group_0_aa", 1}, {"CPU_group_aa", 1}}));
  EXPECT_EQ(NodeResources::CpuShare(Res({{"CPU", 2}, {"GPU", 1}})), Res({{"CPU", 2}}));
}

}  // namespace
}  // namespace rayx
