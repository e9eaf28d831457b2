#include "engine/node/cancelled_parents.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

TaskID Task(int i) {
  return TaskID::ForChild(JobID::FromInt(1), TaskID(), static_cast<uint64_t>(i));
}

TEST(CancelledParentsTest, RemembersWhatWasAdded) {
  CancelledParents parents;
  EXPECT_FALSE(parents.Contains(Task(1)));
  parents.Add(Task(1));
  parents.Add(Task(1));
  EXPECT_TRUE(parents.Contains(Task(1)));
  EXPECT_FALSE(parents.Contains(Task(2)));
  EXPECT_EQ(parents.size(), 1u);
}

TEST(CancelledParentsTest, ForgetsTheOldestPastItsCapacity) {
  CancelledParents parents(3);
  for (int i = 1; i <= 5; ++i) parents.Add(Task(i));
  EXPECT_EQ(parents.size(), 3u);
  EXPECT_FALSE(parents.Contains(Task(1)));
  EXPECT_FALSE(parents.Contains(Task(2)));
  for (int i = 3; i <= 5; ++i) EXPECT_TRUE(parents.Contains(Task(i))) << i;
}

TEST(CancelledParentsTest, IgnoresTheNilParent) {
  CancelledParents parents;
  parents.Add(TaskID());  // A driver's own tasks have no parent: never all cancelled at once.
  EXPECT_FALSE(parents.Contains(TaskID()));
  EXPECT_EQ(parents.size(), 0u);
}

}  // namespace
}  // namespace rayx
