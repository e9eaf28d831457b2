#include "engine/sched/node_resources.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

TEST(NodeResourcesTest, TwoOneCpuTasksRunOnTwoCpusAndTheThirdWaits) {
  NodeResources node(Res({{"CPU", 2}}));
  auto first = node.TryAllocate(Res({{"CPU", 1}}));
  auto second = node.TryAllocate(Res({{"CPU", 1}}));
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 1}})));
  node.Release(*first);
  EXPECT_TRUE(node.TryAllocate(Res({{"CPU", 1}})));
}

TEST(NodeResourcesTest, ReleaseRestoresExactly) {
  ResourceSet total = Res({{"CPU", 4}, {"GPU", 2}, {"memory", 1000}});
  NodeResources node(total);
  std::vector<Allocation> held;
  for (int i = 0; i < 30; ++i) {
    auto a = node.TryAllocate(Res({{"CPU", 0.1}, {"GPU", 0.05}, {"memory", 0.3}}));
    ASSERT_TRUE(a) << i;
    held.push_back(*a);
  }
  EXPECT_EQ(node.available().GetUnits("CPU"), 10000);
  for (const Allocation& a : held) node.Release(a);
  EXPECT_EQ(node.available(), total);
  // Every GPU instance is whole again: two whole GPUs fit.
  auto both = node.TryAllocate(Res({{"GPU", 2}}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->gpu_ids, (std::vector<int>{0, 1}));
}

TEST(NodeResourcesTest, FailedAllocationChangesNothing) {
  NodeResources node(Res({{"CPU", 2}, {"GPU", 1}}));
  ResourceSet before = node.available();
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 1}, {"GPU", 2}})));
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 3}, {"GPU", 1}})));
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 1}, {"custom", 1}})));
  EXPECT_EQ(node.available(), before);
  EXPECT_TRUE(node.TryAllocate(Res({{"CPU", 2}, {"GPU", 1}})));
}

TEST(NodeResourcesTest, ConcurrentOneGpuTasksGetDifferentGpus) {
  NodeResources node(Res({{"CPU", 4}, {"GPU", 2}}));
  auto first = node.TryAllocate(Res({{"GPU", 1}}));
  auto second = node.TryAllocate(Res({{"GPU", 1}}));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->gpu_ids, std::vector<int>{0});
  EXPECT_EQ(second->gpu_ids, std::vector<int>{1});
  EXPECT_EQ(first->gpu_units, std::vector<int64_t>{ResourceSet::kUnitsPerWhole});
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 1}})));
  // The freed GPU is the one handed out next.
  node.Release(*first);
  auto third = node.TryAllocate(Res({{"GPU", 1}}));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->gpu_ids, std::vector<int>{0});
}

TEST(NodeResourcesTest, WholeDemandTakesLowestFreeInstances) {
  NodeResources node(Res({{"GPU", 4}}));
  auto one = node.TryAllocate(Res({{"GPU", 1}}));
  auto two = node.TryAllocate(Res({{"GPU", 2}}));
  ASSERT_TRUE(one && two);
  EXPECT_EQ(two->gpu_ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(two->amounts, Res({{"GPU", 2}}));
}

TEST(NodeResourcesTest, FourHalfGpuTasksPackTwoPerGpu) {
  NodeResources node(Res({{"GPU", 2}}));
  std::vector<int> ids;
  for (int i = 0; i < 4; ++i) {
    auto a = node.TryAllocate(Res({{"GPU", 0.5}}));
    ASSERT_TRUE(a) << i;
    ASSERT_EQ(a->gpu_ids.size(), 1u);
    EXPECT_EQ(a->gpu_units, std::vector<int64_t>{ResourceSet::kUnitsPerWhole / 2});
    ids.push_back(a->gpu_ids[0]);
  }
  EXPECT_EQ(ids, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 0.5}})));
  EXPECT_TRUE(node.available().IsEmpty());
}

TEST(NodeResourcesTest, FractionalDemandPacksBeforeTakingAFreeGpu) {
  NodeResources node(Res({{"GPU", 2}}));
  auto whole = node.TryAllocate(Res({{"GPU", 1}}));  // GPU 0.
  ASSERT_TRUE(whole);
  auto quarter = node.TryAllocate(Res({{"GPU", 0.25}}));  // GPU 1.
  ASSERT_TRUE(quarter);
  EXPECT_EQ(quarter->gpu_ids, std::vector<int>{1});
  node.Release(*whole);  // GPU 0 is idle, GPU 1 is a quarter used.
  auto half = node.TryAllocate(Res({{"GPU", 0.5}}));
  ASSERT_TRUE(half);
  EXPECT_EQ(half->gpu_ids, std::vector<int>{1});
  // GPU 1 has a quarter left; a third does not fit there, so it goes to GPU 0.
  auto third = node.TryAllocate(Res({{"GPU", 0.3}}));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->gpu_ids, std::vector<int>{0});
}

TEST(NodeResourcesTest, WholeGpuNeedsAWhollyFreeInstance) {
  NodeResources node(Res({{"GPU", 2}}));
  auto a = node.TryAllocate(Res({{"GPU", 0.6}}));
  auto b = node.TryAllocate(Res({{"GPU", 0.6}}));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->gpu_ids, b->gpu_ids);
  // 0.8 GPU is free in total, but no instance is whole.
  ResourceSet before = node.available();
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 1}})));
  EXPECT_EQ(node.available(), before);
  node.Release(*a);
  auto whole = node.TryAllocate(Res({{"GPU", 1}}));
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->gpu_ids, a->gpu_ids);
}

TEST(NodeResourcesTest, ValidateRefusesFractionalGpusAboveOne) {
  Status status = NodeResources::Validate(Res({{"GPU", 1.5}}));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("GPU"), std::string::npos);
  EXPECT_TRUE(NodeResources::Validate(Res({{"GPU", 0.5}})).ok());
  EXPECT_TRUE(NodeResources::Validate(Res({{"GPU", 1}})).ok());
  EXPECT_TRUE(NodeResources::Validate(Res({{"GPU", 3}, {"CPU", 1.5}})).ok());
  NodeResources node(Res({{"GPU", 4}}));
  EXPECT_FALSE(node.IsFeasible(Res({{"GPU", 1.5}})));
  EXPECT_FALSE(node.TryAllocate(Res({{"GPU", 1.5}})));
  EXPECT_EQ(node.available(), Res({{"GPU", 4}}));
}

TEST(NodeResourcesTest, ValidateRefusesNegativeDemands) {
  ResourceSet negative;
  negative.Subtract(Res({{"CPU", 1}}));
  Status status = NodeResources::Validate(negative);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("CPU"), std::string::npos);
  NodeResources node(Res({{"CPU", 1}}));
  EXPECT_FALSE(node.TryAllocate(negative));
}

TEST(NodeResourcesTest, FeasibilityIsAgainstTheTotal) {
  NodeResources node(Res({{"CPU", 2}, {"GPU", 1}}));
  auto all = node.TryAllocate(Res({{"CPU", 2}, {"GPU", 1}}));
  ASSERT_TRUE(all);
  EXPECT_TRUE(node.IsFeasible(Res({{"CPU", 2}, {"GPU", 1}})));
  EXPECT_FALSE(node.IsFeasible(Res({{"CPU", 3}})));
  EXPECT_FALSE(node.IsFeasible(Res({{"GPU", 2}})));
  EXPECT_FALSE(node.IsFeasible(Res({{"custom", 1}})));
  EXPECT_TRUE(node.IsFeasible(Res({})));
}

TEST(NodeResourcesTest, EmptyDemandAlwaysFits) {
  NodeResources node(Res({}));
  auto a = node.TryAllocate(Res({}));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->gpu_ids.empty());
  node.Release(*a);
  EXPECT_TRUE(node.available().IsEmpty());
}

TEST(NodeResourcesTest, BlockedWorkerLendsItsCpu) {
  NodeResources node(Res({{"CPU", 1}}));
  auto running = node.TryAllocate(Res({{"CPU", 1}}));
  ASSERT_TRUE(running);
  // The running task blocks in get: its CPU lets a nested task run.
  node.ReleaseCpu(Res({{"CPU", 1}}));
  auto nested = node.TryAllocate(Res({{"CPU", 1}}));
  ASSERT_TRUE(nested);
  // The first task wakes while the nested one still runs: the node is oversubscribed.
  node.ReacquireCpu(Res({{"CPU", 1}}));
  EXPECT_EQ(node.available().Get("CPU"), -1.0);
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 0.5}})));
  node.Release(*nested);
  EXPECT_FALSE(node.TryAllocate(Res({{"CPU", 0.5}})));
  node.Release(*running);
  EXPECT_EQ(node.available(), Res({{"CPU", 1}}));
}

TEST(NodeResourcesTest, FractionalCpuLendingIsExact) {
  NodeResources node(Res({{"CPU", 1}}));
  for (int i = 0; i < 10; ++i) node.ReacquireCpu(Res({{"CPU", 0.1}}));
  EXPECT_TRUE(node.available().IsEmpty());
  for (int i = 0; i < 10; ++i) node.ReleaseCpu(Res({{"CPU", 0.1}}));
  EXPECT_EQ(node.available(), Res({{"CPU", 1}}));
}

}  // namespace
}  // namespace rayx
