#include "engine/cluster/member_table.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

MemberState Member(const NodeID& id) {
  MemberState m;
  m.id = id;
  m.address = "127.0.0.1:1";
  return m;
}

TEST(MemberTableTest, SilentMemberExpiresAndStaysDead) {
  NodeID self = NodeID::FromRandom(), other = NodeID::FromRandom();
  MemberTable table(self);
  EXPECT_TRUE(table.Heard(Member(other), 1000, true));
  EXPECT_TRUE(table.Expire(5000, 5000).empty());
  EXPECT_TRUE(table.Heard(Member(other), 5500, true));
  EXPECT_TRUE(table.Expire(10000, 5000).empty());
  std::vector<NodeID> dead = table.Expire(10501, 5000);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], other);
  EXPECT_TRUE(table.IsDead(other));
  // No resurrection: its heartbeats are refused from now on.
  EXPECT_FALSE(table.Heard(Member(other), 11000, true));
  EXPECT_TRUE(table.IsDead(other));
}

TEST(MemberTableTest, DeathIsReportedOnce) {
  NodeID self = NodeID::FromRandom(), other = NodeID::FromRandom();
  MemberTable table(self);
  table.Heard(Member(other), 0, true);
  EXPECT_TRUE(table.MarkDead(other));
  EXPECT_FALSE(table.MarkDead(other));
  // A death heard of before the member itself still keeps it out.
  NodeID third = NodeID::FromRandom();
  EXPECT_FALSE(table.MarkDead(third));
  EXPECT_FALSE(table.Heard(Member(third), 0, true));
}

TEST(MemberTableTest, SelfIsNeverAMember) {
  NodeID self = NodeID::FromRandom();
  MemberTable table(self);
  EXPECT_FALSE(table.Heard(Member(self), 0, true));
  EXPECT_FALSE(table.MarkDead(self));
  EXPECT_TRUE(table.members().empty());
}

TEST(MemberTableTest, SecondHandNewsDoesNotCountAsHearing) {
  NodeID self = NodeID::FromRandom(), other = NodeID::FromRandom();
  MemberTable table(self);
  table.Heard(Member(other), 0, true);
  table.Heard(Member(other), 4000, false);
  EXPECT_EQ(table.Expire(5001, 5000).size(), 1u);
}

}  // namespace
}  // namespace rayx
