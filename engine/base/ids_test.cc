#include "engine/base/ids.h"

#include <gtest/gtest.h>

#include <string>
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

// Nil and equality look at every byte, whatever the id's length (4, 16 and 20 bytes; 20 is not a
// whole number of words).
template <typename Id>
void ExpectEveryByteCounts() {
  for (size_t at = 0; at < Id::kSize; ++at) {
    std::string bytes(Id::kSize, '\0');
    bytes[at] = '\x01';
    Id one = Id::FromBinary(bytes);
    EXPECT_FALSE(one.IsNil()) << "byte " << at << " of " << Id::kSize;
    EXPECT_NE(one, Id()) << "byte " << at << " of " << Id::kSize;
    EXPECT_EQ(one, Id::FromBinary(bytes));
    bytes[at] = '\x02';
    EXPECT_NE(one, Id::FromBinary(bytes)) << "byte " << at << " of " << Id::kSize;
  }
  EXPECT_TRUE(Id().IsNil());
  EXPECT_EQ(Id(), Id());
}

TEST(IdsTest, NilAndEqualityLookAtEveryByte) {
  ExpectEveryByteCounts<JobID>();
  ExpectEveryByteCounts<NodeID>();
  ExpectEveryByteCounts<ObjectID>();
}

}  // namespace
}  // namespace rayx
