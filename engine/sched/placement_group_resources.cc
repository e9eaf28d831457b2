#include "engine/sched/placement_group_resources.h"

namespace rayx {
namespace {

constexpr char kGroupInfix[] = "_group_";
constexpr double kBundleMarker = 1000;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

StatusOr<PlacementStrategy> ParsePlacementStrategy(const std::string& name) {
  if (name == "PACK") return PlacementStrategy::kPack;
  if (name == "SPREAD") return PlacementStrategy::kSpread;
  if (name == "STRICT_PACK") return PlacementStrategy::kStrictPack;
  if (name == "STRICT_SPREAD") return PlacementStrategy::kStrictSpread;
  return InvalidArgument("invalid placement group strategy '" + name +
                         "': it must be one of PACK, SPREAD, STRICT_PACK, STRICT_SPREAD");
}

const char* PlacementStrategyName(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kPack:
      return "PACK";
    case PlacementStrategy::kSpread:
      return "SPREAD";
    case PlacementStrategy::kStrictPack:
      return "STRICT_PACK";
    case PlacementStrategy::kStrictSpread:
      return "STRICT_SPREAD";
  }
  return "PACK";
}

Status ValidateBundles(const std::vector<ResourceSet>& bundles) {
  if (bundles.empty()) {
    return InvalidArgument("The placement group `bundles` argument cannot contain an empty list");
  }
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (bundles[i].IsEmpty()) {
      return InvalidArgument(
          "Bundles cannot be an empty dictionary or resources with only 0 "
          "values (bundle " +
          std::to_string(i) + ")");
    }
  }
  return Status::OK();
}

std::string PlacementGroupHex(const std::string& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(id.size() * 2);
  for (unsigned char c : id) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

ResourceSet BundlesTotal(const std::vector<ResourceSet>& bundles) {
  ResourceSet total;
  for (const ResourceSet& bundle : bundles) total.Add(bundle);
  return total;
}

ResourceSet DerivedBundleResources(const std::string& hex, int index, const ResourceSet& bundle) {
  const std::string i = std::to_string(index);
  ResourceSet one;
  for (const auto& [name, units] : bundle.units()) {
    double amount = static_cast<double>(units) / ResourceSet::kUnitsPerWhole;
    one.Set(name + kGroupInfix + i + "_" + hex, amount);
    one.Set(name + kGroupInfix + hex, amount);
  }
  one.Set(std::string("bundle") + kGroupInfix + i + "_" + hex, kBundleMarker);
  one.Set(std::string("bundle") + kGroupInfix + hex, kBundleMarker);
  return one;
}

ResourceSet DerivedResources(const std::string& hex, const std::vector<ResourceSet>& bundles) {
  ResourceSet derived;
  for (size_t i = 0; i < bundles.size(); ++i) {
    derived.Add(DerivedBundleResources(hex, static_cast<int>(i), bundles[i]));
  }
  return derived;
}

bool NamesPlacementGroup(const ResourceSet& demand, const std::string& hex) {
  const std::string suffix = "_" + hex;
  for (const auto& [name, units] : demand.units()) {
    if (EndsWith(name, suffix) && name.find(kGroupInfix) != std::string::npos) return true;
  }
  return false;
}

}  // namespace rayx
