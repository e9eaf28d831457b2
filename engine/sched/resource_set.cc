#include "engine/sched/resource_set.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "engine/base/logging.h"

namespace rayx {
namespace {

// The largest amount accepted from the user: its units must fit in an int64_t with room to add.
constexpr double kMaxAmount = 1e14;

// Rounds a non-negative, finite amount to the nearest unit.
int64_t ToUnits(double amount) {
  return static_cast<int64_t>(std::llround(amount * ResourceSet::kUnitsPerWhole));
}

// "1", "0.5", "-2.0001": an amount in units, with no trailing zeros after the point.
std::string FormatUnits(int64_t units) {
  std::string out = units < 0 ? "-" : "";
  uint64_t magnitude = units < 0 ? -static_cast<uint64_t>(units) : static_cast<uint64_t>(units);
  out += std::to_string(magnitude / ResourceSet::kUnitsPerWhole);
  uint64_t fraction = magnitude % ResourceSet::kUnitsPerWhole;
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 4 - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    out += "." + digits;
  }
  return out;
}

}  // namespace

StatusOr<ResourceSet> ResourceSet::FromDoubles(const std::map<std::string, double>& amounts) {
  ResourceSet set;
  for (const auto& [name, amount] : amounts) RAYX_RETURN_IF_ERROR(set.SetChecked(name, amount));
  return set;
}

Status ResourceSet::SetChecked(const std::string& name, double amount) {
  if (name.empty()) return InvalidArgument("resource name is empty");
  // The message is written only for a refusal: every task's demand passes through here, and an
  // ostringstream costs more than the rest of the check.
  auto refuse = [&name, amount](const char* why) {
    std::ostringstream where;
    where << "resource '" << name << "': amount " << amount << why;
    return InvalidArgument(where.str());
  };
  if (std::isnan(amount) || std::isinf(amount)) return refuse(" is not a finite number");
  if (amount < 0) return refuse(" is negative");
  if (amount > kMaxAmount) return refuse(" is too large");
  // amount * 10000 carries the rounding error of both the decimal literal and the product, a few
  // ulps; anything further from a whole number of units is finer than 1/10000.
  double scaled = amount * kUnitsPerWhole;
  double tolerance = 1e-9 + 8 * DBL_EPSILON * scaled;
  if (std::fabs(scaled - std::round(scaled)) > tolerance) return refuse(" is finer than 1/10000");
  Set(name, amount);
  return Status::OK();
}

StatusOr<ResourceSet> ResourceSet::FromAdvertisedFree(
    const std::map<std::string, double>& amounts) {
  std::map<std::string, double> free = amounts;
  for (auto& [name, amount] : free) {
    if (amount < 0) amount = 0;  // NaN compares false and is refused below.
  }
  return FromDoubles(free);
}

void ResourceSet::Set(const std::string& name, double amount) {
  RAYX_CHECK(std::isfinite(amount) && amount >= 0) << name << " = " << amount;
  int64_t units = ToUnits(amount);
  auto it =
      std::lower_bound(units_.begin(), units_.end(), name,
                       [](const auto& entry, const std::string& n) { return entry.first < n; });
  bool present = it != units_.end() && it->first == name;
  if (units == 0) {
    if (present) units_.erase(it);
  } else if (present) {
    it->second = units;
  } else {
    units_.emplace(it, name, units);
  }
}

double ResourceSet::Get(std::string_view name) const {
  return static_cast<double>(GetUnits(name)) / kUnitsPerWhole;
}

int64_t ResourceSet::GetUnits(std::string_view name) const {
  // A few entries: a scan costs less than a binary search's branches.
  for (const auto& [entry, units] : units_) {
    int order = std::string_view(entry).compare(name);
    if (order == 0) return units;
    if (order > 0) break;
  }
  return 0;
}

bool ResourceSet::IsSubsetOf(const ResourceSet& other) const {
  auto theirs = other.units_.begin();
  for (const auto& [name, units] : units_) {
    while (theirs != other.units_.end() && theirs->first < name) ++theirs;
    int64_t available = theirs != other.units_.end() && theirs->first == name ? theirs->second : 0;
    if (units > available) return false;
  }
  return true;
}

void ResourceSet::Add(const ResourceSet& other) { AddScaled(other, +1); }

void ResourceSet::Subtract(const ResourceSet& other) { AddScaled(other, -1); }

void ResourceSet::AddScaled(const ResourceSet& other, int64_t sign) {
  size_t mine = 0;
  for (const auto& [name, units] : other.units_) {
    while (mine < units_.size() && units_[mine].first < name) ++mine;
    if (mine < units_.size() && units_[mine].first == name) {
      units_[mine].second += sign * units;
      if (units_[mine].second == 0) units_.erase(units_.begin() + mine);
    } else {
      units_.emplace(units_.begin() + mine, name, sign * units);
      ++mine;
    }
  }
}

std::map<std::string, double> ResourceSet::ToDoubles() const {
  std::map<std::string, double> out;
  for (const auto& [name, units] : units_) {
    out[name] = static_cast<double>(units) / kUnitsPerWhole;
  }
  return out;
}

std::string ResourceSet::ToString() const {
  std::string out = "{";
  for (const auto& [name, units] : units_) {
    if (out.size() > 1) out += ", ";
    out += name + ": " + FormatUnits(units);
  }
  return out + "}";
}

}  // namespace rayx
