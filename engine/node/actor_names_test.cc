#include "engine/node/actor_names.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

ActorID Id(uint8_t n) {
  ActorID id;
  id.mutable_data()[0] = n;
  return id;
}

TEST(ActorNamesTest, NamesAreUniquePerNamespace) {
  ActorNames names;
  ASSERT_TRUE(names.Register("", "counter", Id(1)).ok());
  Status taken = names.Register("", "counter", Id(2));
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(taken.message().find("counter"), std::string::npos);
  EXPECT_TRUE(names.Register("other", "counter", Id(2)).ok());
  EXPECT_EQ(names.Lookup("", "counter"), Id(1));
  EXPECT_EQ(names.Lookup("other", "counter"), Id(2));
  EXPECT_FALSE(names.Lookup("", "missing").has_value());
}

TEST(ActorNamesTest, RegisteringTheSameActorAgainIsFine) {
  ActorNames names;
  ASSERT_TRUE(names.Register("ns", "a", Id(1)).ok());
  EXPECT_TRUE(names.Register("ns", "a", Id(1)).ok());
  EXPECT_EQ(names.size(), 1u);
}

TEST(ActorNamesTest, EmptyNameIsRefused) {
  ActorNames names;
  EXPECT_EQ(names.Register("ns", "", Id(1)).code(), StatusCode::kInvalidArgument);
}

TEST(ActorNamesTest, OnlyTheOwnerReleasesAName) {
  ActorNames names;
  ASSERT_TRUE(names.Register("", "a", Id(1)).ok());
  names.Release("", "a", Id(2));  // Not its name: nothing happens.
  EXPECT_EQ(names.Lookup("", "a"), Id(1));
  names.Release("", "a", Id(1));
  EXPECT_FALSE(names.Lookup("", "a").has_value());
  EXPECT_TRUE(names.Register("", "a", Id(2)).ok());
}

TEST(ActorNamesTest, ListsOneNamespaceOrAllInOrder) {
  ActorNames names;
  ASSERT_TRUE(names.Register("b", "y", Id(1)).ok());
  ASSERT_TRUE(names.Register("a", "z", Id(2)).ok());
  ASSERT_TRUE(names.Register("b", "x", Id(3)).ok());
  ASSERT_TRUE(names.Register("ba", "w", Id(4)).ok());
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(names.List("b", false), (Pairs{{"b", "x"}, {"b", "y"}}));
  EXPECT_EQ(names.List("none", false), Pairs{});
  EXPECT_EQ(names.List("", true), (Pairs{{"a", "z"}, {"b", "x"}, {"b", "y"}, {"ba", "w"}}));
  names.Release("b", "x", Id(3));  // A dead actor's name is not listed.
  EXPECT_EQ(names.List("b", false), (Pairs{{"b", "y"}}));
}

}  // namespace
}  // namespace rayx
