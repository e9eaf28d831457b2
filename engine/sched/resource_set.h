// ResourceSet: named amounts of resources ("CPU", "GPU", "memory", custom names), exact to 1/10000.
//
// Amounts are kept as fixed-point integers so that adding and taking away 0.1 CPU a thousand times
// comes back to exactly what it was. A set never holds a zero entry: an absent name means zero.
// The entries are a vector sorted by name, not a map: a set holds one to a few names, every task's
// demand is copied, compared and taken from the node's free amounts, and a vector does each of
// those in one pass with one allocation. Value type; not thread-safe (copy it across threads).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

class ResourceSet {
 public:
  static constexpr int64_t kUnitsPerWhole = 10000;
  // (name, units) pairs sorted by name, none zero.
  using Units = std::vector<std::pair<std::string, int64_t>>;

  ResourceSet() = default;

  // Builds a set from user-facing amounts. Fails with InvalidArgument, naming the resource, on a
  // negative, NaN or infinite amount, or on an amount finer than 1/10000. Zero amounts are dropped.
  static StatusOr<ResourceSet> FromDoubles(const std::map<std::string, double>& amounts);
  // The free amounts a cluster member advertises, which go below zero while work it took on
  // before its capacity shrank still runs (a removed placement group's tasks): a negative amount
  // is none free. The other amounts are checked as FromDoubles checks them.
  static StatusOr<ResourceSet> FromAdvertisedFree(const std::map<std::string, double>& amounts);

  // Sets one resource; amount in whole units (may be fractional). REQUIRES: amount >= 0, finite.
  void Set(const std::string& name, double amount);
  // Sets one resource from a user-facing amount, checked as FromDoubles checks each (the set is
  // unchanged when it is refused).
  Status SetChecked(const std::string& name, double amount);
  // The amount of name in whole units, 0 when absent.
  double Get(std::string_view name) const;
  int64_t GetUnits(std::string_view name) const;

  bool IsEmpty() const { return units_.empty(); }
  // True when every amount in this set is at most the amount of the same name in other.
  bool IsSubsetOf(const ResourceSet& other) const;

  void Add(const ResourceSet& other);
  // Subtracts other; amounts may go below zero (a blocked worker taking its CPU back may
  // oversubscribe for a while). Entries that reach exactly zero are removed.
  void Subtract(const ResourceSet& other);

  std::map<std::string, double> ToDoubles() const;
  // "{CPU: 1, GPU: 0.5}" for messages to the user.
  std::string ToString() const;

  const Units& units() const { return units_; }
  bool operator==(const ResourceSet& other) const { return units_ == other.units_; }
  bool operator!=(const ResourceSet& other) const { return units_ != other.units_; }
  bool operator<(const ResourceSet& other) const { return units_ < other.units_; }

 private:
  // Adds sign * each of other's amounts (one pass: both are sorted), dropping those that reach
  // zero.
  void AddScaled(const ResourceSet& other, int64_t sign);

  Units units_;
};

}  // namespace rayx
