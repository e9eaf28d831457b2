#include "engine/base/ids.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace rayx {
namespace {

TEST(IdsTest, TaskIdsAreDeterministicAndDistinct) {
  JobID job = JobID::FromInt(7);
  TaskID root = TaskID::ForDriver(job);
  EXPECT_EQ(TaskID::ForChild(job, root, 1), TaskID::ForChild(job, root, 1));
  std::unordered_set<TaskID> seen;
  for (uint64_t i = 0; i < 10000; ++i) seen.insert(TaskID::ForChild(job, root, i));
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_EQ(TaskID::ForChild(job, root, 3).Job(), job);
  EXPECT_NE(TaskID::ForChild(JobID::FromInt(8), root, 1), TaskID::ForChild(job, root, 1));
}

TEST(IdsTest, ObjectIdsKnowTheirTaskAndIndex) {
  TaskID task = TaskID::ForChild(JobID::FromInt(1), TaskID(), 5);
  ObjectID ret = ObjectID::ForReturn(task, 2);
  ObjectID put = ObjectID::ForPut(task, 2);
  EXPECT_EQ(ret.Task(), task);
  EXPECT_EQ(ret.Index(), 2u);
  EXPECT_FALSE(ret.IsPut());
  EXPECT_TRUE(put.IsPut());
  EXPECT_EQ(put.Index(), 2u);
  EXPECT_NE(ret, put);
}

TEST(IdsTest, HashesTellApartReturnsOfManyTasksAndPutsOfOneTask) {
  // Every task's first return shares its tail (job id, index 0) with every other task's; every
  // put of one task shares its head. Neither family may collide, or hash tables turn linear.
  JobID job = JobID::FromInt(1);
  TaskID root = TaskID::ForDriver(job);
  std::unordered_set<size_t> returns;
  std::unordered_set<size_t> puts;
  for (uint64_t i = 0; i < 10000; ++i) {
    returns.insert(ObjectID::ForReturn(TaskID::ForChild(job, root, i), 0).Hash());
    puts.insert(ObjectID::ForPut(root, static_cast<uint32_t>(i)).Hash());
  }
  EXPECT_EQ(returns.size(), 10000u);
  EXPECT_EQ(puts.size(), 10000u);
  EXPECT_NE(JobID::FromInt(1).Hash(), JobID::FromInt(2).Hash());
}

TEST(IdsTest, HexRoundTripsAndRejectsGarbage) {
  ObjectID id = ObjectID::ForReturn(TaskID::ForDriver(JobID::FromInt(3)), 1);
  auto parsed = ObjectID::FromHex(id.Hex());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, id);
  EXPECT_FALSE(ObjectID::FromHex("abc").ok());
  EXPECT_FALSE(ObjectID::FromHex(std::string(40, 'z')).ok());
  EXPECT_TRUE(ObjectID().IsNil());
  EXPECT_FALSE(NodeID::FromRandom().IsNil());
}

}  // namespace
}  // namespace rayx
