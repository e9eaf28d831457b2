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

// Prepares and commits every bundle, or none (what PlacementGroupManager does on one node).
bool ReserveAll(NodeResources* node, const std::string& hex,
                const std::vector<ResourceSet>& bundles) {
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (!node->PrepareBundle(hex, static_cast<int>(i), bundles[i])) {
      for (size_t j = 0; j < i; ++j) node->ReturnBundle(hex, static_cast<int>(j));
      return false;
    }
  }
  for (size_t i = 0; i < bundles.size(); ++i) node->CommitBundle(hex, static_cast<int>(i));
  return true;
}

TEST(PlacementGroupResourcesTest, PrepareThenCommitAndReturnGivesBack) {
  NodeResources node(Res({{"CPU", 2}}));
  std::vector<ResourceSet> bundles = {Res({{"CPU", 1}}), Res({{"CPU", 1}})};
  auto held = node.TryAllocate(Res({{"CPU", 1}}));
  ASSERT_TRUE(held);
  // One CPU is free, two are asked for: nothing is taken.
  EXPECT_FALSE(ReserveAll(&node, "aa", bundles));
  EXPECT_EQ(node.available(), Res({{"CPU", 1}}));
  EXPECT_EQ(node.total(), Res({{"CPU", 2}}));
  node.Release(*held);
  // Prepared, not committed: the CPU is taken and no derived name exists yet.
  ASSERT_TRUE(node.PrepareBundle("aa", 0, bundles[0]));
  EXPECT_FALSE(node.PrepareBundle("aa", 0, bundles[0]));  // Held already.
  EXPECT_EQ(node.available(), Res({{"CPU", 1}}));
  EXPECT_EQ(node.total(), Res({{"CPU", 2}}));
  ASSERT_TRUE(node.PrepareBundle("aa", 1, bundles[1]));
  node.CommitBundle("aa", 0);
  node.CommitBundle("aa", 1);
  EXPECT_EQ(node.available().Get("CPU"), 0);
  EXPECT_EQ(node.total().Get("CPU_group_1_aa"), 1);
  EXPECT_EQ(node.total().Get("CPU_group_aa"), 2);
  // A task in bundle 1 takes its share; one asking two CPUs of bundle 1 does not fit it.
  auto in_bundle = node.TryAllocate(Res({{"CPU_group_1_aa", 1},
                                         {"CPU_group_aa", 1},
                                         {"bundle_group_1_aa", 0.001},
                                         {"bundle_group_aa", 0.001}}));
  ASSERT_TRUE(in_bundle);
  EXPECT_FALSE(node.IsFeasible(Res({{"CPU_group_1_aa", 2}, {"CPU_group_aa", 2}})));
  // Returned while the task still runs: the CPUs are free again, the derived names go below
  // zero, and back to nothing once the task lets go.
  node.ReturnBundle("aa", 0);
  node.ReturnBundle("aa", 1);
  EXPECT_EQ(node.total(), Res({{"CPU", 2}}));
  EXPECT_EQ(node.available().Get("CPU"), 2);
  EXPECT_EQ(node.available().Get("CPU_group_1_aa"), -1);
  node.Release(*in_bundle);
  EXPECT_EQ(node.available(), Res({{"CPU", 2}}));
}

TEST(PlacementGroupResourcesTest, PreparedBundleReturnedLeavesNoTrace) {
  NodeResources node(Res({{"CPU", 2}, {"GPU", 1}}));
  ASSERT_TRUE(node.PrepareBundle("aa", 3, Res({{"CPU", 1}, {"GPU", 1}})));
  EXPECT_TRUE(node.HoldsBundle("aa", 3));
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 1}})));  // The GPU is the bundle's.
  node.ReturnBundle("aa", 3);
  EXPECT_FALSE(node.HoldsBundle("aa", 3));
  EXPECT_EQ(node.available(), Res({{"CPU", 2}, {"GPU", 1}}));
  EXPECT_EQ(node.total(), Res({{"CPU", 2}, {"GPU", 1}}));
  auto gpu = node.TryAllocate(Res({{"GPU", 1}}));
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->gpu_ids, std::vector<int>{0});
}

TEST(PlacementGroupResourcesTest, GpuBundlesHandTheirInstancesToTheirWork) {
  NodeResources node(Res({{"CPU", 2}, {"GPU", 2}}));
  // Bundle 0 gets GPU 0, bundle 1 GPU 1: a task in bundle 1 sees GPU 1, never GPU 0.
  ASSERT_TRUE(ReserveAll(&node, "aa", {Res({{"GPU", 1}}), Res({{"GPU", 1}})}));
  EXPECT_EQ(node.available().Get("GPU"), 0);
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 1}})));
  auto in_one = node.TryAllocate(Res({{"GPU_group_1_aa", 1}, {"GPU_group_aa", 1}}));
  ASSERT_TRUE(in_one);
  EXPECT_EQ(in_one->gpu_ids, std::vector<int>{1});
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU_group_1_aa", 0.5}, {"GPU_group_aa", 0.5}})));
  // Any bundle (index -1): the one GPU left, bundle 0's.
  auto any = node.TryAllocate(Res({{"GPU_group_aa", 0.5}}));
  ASSERT_TRUE(any);
  EXPECT_EQ(any->gpu_ids, std::vector<int>{0});
  auto other_half = node.TryAllocate(Res({{"GPU_group_0_aa", 0.5}, {"GPU_group_aa", 0.5}}));
  ASSERT_TRUE(other_half);
  EXPECT_EQ(other_half->gpu_ids, std::vector<int>{0});
  node.Release(*in_one);
  auto again = node.TryAllocate(Res({{"GPU_group_1_aa", 1}, {"GPU_group_aa", 1}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->gpu_ids, std::vector<int>{1});
  // Returned with work still holding them: the node's GPUs are whole again, and the late releases
  // do not give them back twice.
  node.ReturnBundle("aa", 0);
  node.ReturnBundle("aa", 1);
  node.Release(*any);
  node.Release(*other_half);
  node.Release(*again);
  EXPECT_EQ(node.available(), Res({{"CPU", 2}, {"GPU", 2}}));
  auto both = node.TryAllocate(Res({{"GPU", 2}}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->gpu_ids, (std::vector<int>{0, 1}));
}

TEST(PlacementGroupResourcesTest, FractionalGpuBundleSharesAnInstance) {
  NodeResources node(Res({{"GPU", 1}}));
  ASSERT_TRUE(node.PrepareBundle("aa", 0, Res({{"GPU", 0.5}})));
  ASSERT_TRUE(node.PrepareBundle("bb", 0, Res({{"GPU", 0.5}})));
  EXPECT_FALSE(node.PrepareBundle("cc", 0, Res({{"GPU", 0.5}})));
  node.CommitBundle("aa", 0);
  auto task = node.TryAllocate(Res({{"GPU_group_0_aa", 0.5}, {"GPU_group_aa", 0.5}}));
  ASSERT_TRUE(task);
  EXPECT_EQ(task->gpu_ids, std::vector<int>{0});
  // A whole GPU from a half bundle does not fit.
  EXPECT_FALSE(node.IsFeasible(Res({{"GPU_group_0_aa", 1}})));
}

TEST(PlacementGroupResourcesTest, BlockedTaskLendsItsBundleCpu) {
  ResourceSet amounts = Res({{"CPU_group_0_aa", 1}, {"CPU_group_aa", 1}, {"bundle_group_aa", 1}});
  EXPECT_EQ(NodeResources::CpuShare(amounts), Res({{"CPU_group_0_aa", 1}, {"CPU_group_aa", 1}}));
  EXPECT_EQ(NodeResources::CpuShare(Res({{"CPU", 2}, {"GPU", 1}})), Res({{"CPU", 2}}));
}

}  // namespace
}  // namespace rayx
