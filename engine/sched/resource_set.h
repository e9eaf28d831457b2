// ResourceSet: named amounts of resources ("CPU", "GPU", "memory", custom names), exact to 1/10000.
//
// Amounts are kept as fixed-point integers so that adding and taking away 0.1 CPU a thousand times
// comes back to exactly what it was. A set never holds a zero entry: an absent name means zero.
// Value type; not thread-safe (copy it across threads).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/base/status.h"

namespace rayx {

class ResourceSet {
 public:
  static constexpr int64_t kUnitsPerWhole = 10000;

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
  double Get(const std::string& name) const;
  int64_t GetUnits(const std::string& name) const;

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

  const std::map<std::string, int64_t>& units() const { return units_; }
  bool operator==(const ResourceSet& other) const { return units_ == other.units_; }
  bool operator!=(const ResourceSet& other) const { return units_ != other.units_; }
  bool operator<(const ResourceSet& other) const { return units_ < other.units_; }

 private:
  std::map<std::string, int64_t> units_;  // Never holds zero.
};

}  // namespace rayx
