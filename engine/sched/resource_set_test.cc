#include "engine/sched/resource_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

// Expects FromDoubles to refuse amounts with an InvalidArgument naming the resource.
void ExpectRefused(const std::string& name, double amount) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles({{"CPU", 1}, {name, amount}});
  ASSERT_FALSE(set.ok()) << name << " = " << amount;
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(set.status().message().find(name), std::string::npos) << set.status();
}

// A member's advertised free amounts go below zero while a removed group's work still runs there:
// that resource has none free, and the member's other free resources still count.
TEST(ResourceSetTest, AdvertisedFreeReadsANegativeAmountAsNone) {
  StatusOr<ResourceSet> free = ResourceSet::FromAdvertisedFree({{"CPU", -1.5}, {"GPU", 2}});
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_EQ(*free, Res({{"GPU", 2}}));
  EXPECT_FALSE(ResourceSet::FromDoubles({{"CPU", -1.5}, {"GPU", 2}}).ok());
  EXPECT_FALSE(ResourceSet::FromAdvertisedFree({{"CPU", std::nan("")}}).ok());
  EXPECT_FALSE(ResourceSet::FromAdvertisedFree({{"CPU", 0.00001}}).ok());
}

TEST(ResourceSetTest, TenthsAddUpExactly) {
  ResourceSet sum;
  ResourceSet tenth = Res({{"CPU", 0.1}});
  for (int i = 0; i < 10; ++i) sum.Add(tenth);
  EXPECT_EQ(sum, Res({{"CPU", 1}}));
  EXPECT_EQ(sum.Get("CPU"), 1.0);
  EXPECT_EQ(sum.GetUnits("CPU"), ResourceSet::kUnitsPerWhole);
}

TEST(ResourceSetTest, TakingAwayATenthAThousandTimesComesBackExactly) {
  ResourceSet set = Res({{"CPU", 200}});
  ResourceSet tenth = Res({{"CPU", 0.1}});
  for (int i = 0; i < 1000; ++i) set.Subtract(tenth);
  EXPECT_EQ(set.Get("CPU"), 100.0);
  for (int i = 0; i < 1000; ++i) set.Add(tenth);
  EXPECT_EQ(set, Res({{"CPU", 200}}));
}

TEST(ResourceSetTest, AcceptsFourDecimalPlaces) {
  ResourceSet set = Res({{"CPU", 0.0001}, {"GPU", 0.3}, {"memory", 123456789.1234}});
  EXPECT_EQ(set.GetUnits("CPU"), 1);
  EXPECT_EQ(set.GetUnits("GPU"), 3000);
  EXPECT_EQ(set.GetUnits("memory"), 1234567891234);
}

TEST(ResourceSetTest, RefusesBadAmountsNamingTheResource) {
  ExpectRefused("GPU", -1);
  ExpectRefused("custom", -0.0001);
  ExpectRefused("GPU", std::numeric_limits<double>::quiet_NaN());
  ExpectRefused("memory", std::numeric_limits<double>::infinity());
  ExpectRefused("memory", -std::numeric_limits<double>::infinity());
  ExpectRefused("GPU", 0.00001);
  ExpectRefused("accel", 1.23456);
  ExpectRefused("memory", 1e300);
}

TEST(ResourceSetTest, SetCheckedRefusesABadAmountAndKeepsTheSet) {
  ResourceSet set = Res({{"CPU", 2}});
  Status refused = set.SetChecked("CPU", -1);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("resource 'CPU': amount -1 is negative"), std::string::npos)
      << refused;
  EXPECT_EQ(set, Res({{"CPU", 2}}));
  EXPECT_NE(set.SetChecked("GPU", 0.00001).message().find("finer than 1/10000"), std::string::npos);
  EXPECT_TRUE(set.SetChecked("GPU", 0.5).ok());
  EXPECT_EQ(set, Res({{"CPU", 2}, {"GPU", 0.5}}));
}

TEST(ResourceSetTest, DropsZeroAmounts) {
  ResourceSet set = Res({{"CPU", 1}, {"GPU", 0}});
  EXPECT_EQ(set.units().size(), 1u);
  EXPECT_EQ(set.GetUnits("GPU"), 0);
  EXPECT_EQ(set, Res({{"CPU", 1}}));
  EXPECT_TRUE(Res({{"GPU", 0}}).IsEmpty());
  EXPECT_TRUE(Res({}).IsEmpty());
}

TEST(ResourceSetTest, SubtractingToZeroRemovesTheEntry) {
  ResourceSet set = Res({{"CPU", 2}, {"GPU", 0.5}});
  set.Subtract(Res({{"GPU", 0.5}}));
  EXPECT_EQ(set, Res({{"CPU", 2}}));
  set.Set("CPU", 0);
  EXPECT_TRUE(set.IsEmpty());
}

TEST(ResourceSetTest, SubtractMayGoBelowZero) {
  ResourceSet set = Res({{"CPU", 1}});
  set.Subtract(Res({{"CPU", 1.5}}));
  EXPECT_EQ(set.Get("CPU"), -0.5);
  EXPECT_FALSE(Res({{"CPU", 0.1}}).IsSubsetOf(set));
  EXPECT_TRUE(Res({{"GPU", 0}}).IsSubsetOf(set));
  set.Add(Res({{"CPU", 0.5}}));
  EXPECT_TRUE(set.IsEmpty());
}

TEST(ResourceSetTest, AbsentNamesCountAsZero) {
  ResourceSet set = Res({{"CPU", 1}});
  EXPECT_EQ(set.Get("GPU"), 0.0);
  EXPECT_EQ(set.GetUnits("GPU"), 0);
}

TEST(ResourceSetTest, SubsetComparesEveryName) {
  ResourceSet node = Res({{"CPU", 4}, {"GPU", 1}});
  EXPECT_TRUE(Res({}).IsSubsetOf(node));
  EXPECT_TRUE(Res({{"CPU", 4}}).IsSubsetOf(node));
  EXPECT_TRUE(Res({{"CPU", 2}, {"GPU", 0.5}}).IsSubsetOf(node));
  EXPECT_FALSE(Res({{"CPU", 4.0001}}).IsSubsetOf(node));
  EXPECT_FALSE(Res({{"CPU", 1}, {"custom", 1}}).IsSubsetOf(node));
  EXPECT_FALSE(node.IsSubsetOf(Res({{"CPU", 4}})));
}

TEST(ResourceSetTest, AddAndSubtractKeepNamesInOrderWhereverTheyGo) {
  // Names before, between and after the ones held, and a name that reaches zero in the middle:
  // the set must come out equal to the one built from the sums.
  ResourceSet set = Res({{"b", 1}, {"d", 1}});
  set.Add(Res({{"a", 1}, {"b", 1}, {"c", 2}, {"e", 3}}));
  EXPECT_EQ(set, Res({{"a", 1}, {"b", 2}, {"c", 2}, {"d", 1}, {"e", 3}}));
  set.Subtract(Res({{"A", 1}, {"c", 2}, {"d", 0.5}}));
  EXPECT_EQ(set.ToString(), "{A: -1, a: 1, b: 2, d: 0.5, e: 3}");
  EXPECT_TRUE(Res({{"a", 1}, {"e", 3}}).IsSubsetOf(set));
  EXPECT_FALSE(Res({{"a", 1}, {"c", 0.1}}).IsSubsetOf(set));
  EXPECT_FALSE(Res({{"f", 0.1}}).IsSubsetOf(set));
  EXPECT_EQ(set.GetUnits("e"), 3 * ResourceSet::kUnitsPerWhole);
  EXPECT_EQ(set.GetUnits("c"), 0);
}

TEST(ResourceSetTest, RoundTripsThroughDoubles) {
  std::map<std::string, double> amounts = {{"CPU", 0.1}, {"GPU", 2}, {"memory", 1e9}};
  EXPECT_EQ(Res(amounts).ToDoubles(), amounts);
}

TEST(ResourceSetTest, PrintsForUsers) {
  EXPECT_EQ(Res({}).ToString(), "{}");
  EXPECT_EQ(Res({{"CPU", 1}, {"GPU", 0.5}}).ToString(), "{CPU: 1, GPU: 0.5}");
  EXPECT_EQ(Res({{"x", 2.0001}, {"y", 0.25}}).ToString(), "{x: 2.0001, y: 0.25}");
  ResourceSet negative;
  negative.Subtract(Res({{"CPU", 0.5}}));
  EXPECT_EQ(negative.ToString(), "{CPU: -0.5}");
}

TEST(ResourceSetTest, OrdersAsAMapKey) {
  ResourceSet one = Res({{"CPU", 1}});
  ResourceSet two = Res({{"CPU", 2}});
  EXPECT_TRUE(one < two || two < one);
  EXPECT_FALSE(one < one);
  EXPECT_NE(one, two);
}

}  // namespace
}  // namespace rayx
