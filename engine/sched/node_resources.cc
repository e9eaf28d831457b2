#include "engine/sched/node_resources.h"

#include <algorithm>

#include "engine/base/logging.h"
#include "engine/sched/placement_group_resources.h"

namespace rayx {
namespace {

constexpr int64_t kWhole = ResourceSet::kUnitsPerWhole;

constexpr char kCpuGroupPrefix[] = "CPU_group_";
constexpr char kGpuGroupPrefix[] = "GPU_group_";

}  // namespace

NodeResources::NodeResources(const ResourceSet& total) : total_(total), available_(total) {
  int64_t gpu_units = total.GetUnits(kGpu);
  RAYX_CHECK(gpu_units >= 0 && gpu_units % kWhole == 0)
      << "GPU total must be whole: " << total.ToString();
  gpu_free_units_.assign(gpu_units / kWhole, kWhole);
}

Status NodeResources::Validate(const ResourceSet& demand) {
  for (const auto& [name, units] : demand.units()) {
    if (units < 0) {
      return InvalidArgument("resource '" + name + "': a demand cannot be negative, got " +
                             demand.ToString());
    }
  }
  int64_t gpu_units = demand.GetUnits(kGpu);
  if (gpu_units > kWhole && gpu_units % kWhole != 0) {
    return InvalidArgument("resource 'GPU': a demand above 1 must be a whole number, got " +
                           demand.ToString());
  }
  return Status::OK();
}

bool NodeResources::IsFeasible(const ResourceSet& demand) const {
  return Validate(demand).ok() && demand.IsSubsetOf(total_);
}

bool NodeResources::PickGpus(const std::vector<int64_t>& free, int64_t units,
                             std::vector<size_t>* picked) {
  picked->clear();
  if (units >= kWhole) {
    // A whole demand takes wholly free instances, lowest ids first.
    if (units % kWhole != 0) return false;
    int64_t needed = units / kWhole;
    for (size_t i = 0; i < free.size() && needed > 0; ++i) {
      if (free[i] == kWhole) {
        picked->push_back(i);
        --needed;
      }
    }
    return needed == 0;
  }
  if (units <= 0) return true;
  // A fractional demand goes to the instance with the least room that still fits (best fit), so
  // partly used instances fill up before an idle one is touched; ties go to the lowest id.
  int best = -1;
  for (size_t i = 0; i < free.size(); ++i) {
    if (free[i] >= units && (best < 0 || free[i] < free[best])) best = static_cast<int>(i);
  }
  if (best < 0) return false;
  picked->push_back(static_cast<size_t>(best));
  return true;
}

bool NodeResources::AllocateBundleGpus(const ResourceSet& demand, Allocation* allocation) {
  // The demand's GPU_group_<i>_<hex> (one bundle) or GPU_group_<hex> (any bundle) entry.
  std::string hex;
  int index = -1;
  int64_t units = 0;
  for (const auto& [name, amount] : demand.units()) {
    if (name.rfind(kGpuGroupPrefix, 0) != 0) continue;
    std::string rest = name.substr(sizeof(kGpuGroupPrefix) - 1);
    size_t cut = rest.rfind('_');
    if (cut == std::string::npos) {
      if (index < 0) {  // The bundle's own entry, when there is one, decides.
        hex = rest;
        units = amount;
      }
      continue;
    }
    std::string digits = rest.substr(0, cut);
    if (digits.empty() || digits.size() > 6 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    hex = rest.substr(cut + 1);
    index = std::stoi(digits);
    units = amount;
  }
  if (hex.empty() || units <= 0) return true;
  std::vector<std::pair<HeldBundle*, size_t>> where;  // (bundle, index into its gpus).
  std::vector<int> where_index;
  std::vector<int64_t> free;
  for (auto it = bundles_.lower_bound({hex, -1}); it != bundles_.end() && it->first.first == hex;
       ++it) {
    if (!it->second.committed || (index >= 0 && it->first.second != index)) continue;
    for (size_t g = 0; g < it->second.gpus.size(); ++g) {
      where.push_back({&it->second, g});
      where_index.push_back(it->first.second);
      free.push_back(it->second.gpus[g].free);
    }
  }
  std::vector<size_t> picked;
  if (!PickGpus(free, units, &picked)) return false;
  allocation->gpu_group = hex;
  for (size_t p : picked) {
    GpuShare& share = where[p].first->gpus[where[p].second];
    int64_t take = units >= kWhole ? kWhole : units;
    share.free -= take;
    allocation->gpu_ids.push_back(share.gpu_id);
    allocation->gpu_units.push_back(take);
    allocation->gpu_bundles.push_back(where_index[p]);
  }
  return true;
}

std::optional<Allocation> NodeResources::TryAllocate(const ResourceSet& demand) {
  // The cheaper test first: most refusals are of a demand that does not fit now.
  if (!demand.IsSubsetOf(available_) || !Validate(demand).ok()) return std::nullopt;
  Allocation allocation;
  std::vector<size_t> picked;
  int64_t gpu_units = demand.GetUnits(kGpu);
  if (!PickGpus(gpu_free_units_, gpu_units, &picked)) return std::nullopt;
  // A bundle's GPUs are checked last: AllocateBundleGpus takes them when they fit, and nothing
  // can fail after it.
  if (!AllocateBundleGpus(demand, &allocation)) return std::nullopt;
  for (size_t i : picked) {
    int64_t take = gpu_units >= kWhole ? kWhole : gpu_units;
    gpu_free_units_[i] -= take;
    allocation.gpu_ids.push_back(static_cast<int>(i));
    allocation.gpu_units.push_back(take);
  }
  available_.Subtract(demand);
  allocation.amounts = demand;
  return allocation;
}

void NodeResources::Release(const Allocation& allocation) {
  RAYX_CHECK(allocation.gpu_ids.size() == allocation.gpu_units.size());
  for (size_t i = 0; i < allocation.gpu_ids.size(); ++i) {
    int id = allocation.gpu_ids[i];
    if (!allocation.gpu_group.empty() && i < allocation.gpu_bundles.size()) {
      // A bundle's share: back to the bundle, unless the bundle was returned meanwhile (it gave
      // the whole instance share back to the node then).
      auto held = bundles_.find({allocation.gpu_group, allocation.gpu_bundles[i]});
      if (held == bundles_.end()) continue;
      for (GpuShare& share : held->second.gpus) {
        if (share.gpu_id == id) {
          share.free = std::min(share.capacity, share.free + allocation.gpu_units[i]);
          break;
        }
      }
      continue;
    }
    RAYX_CHECK(id >= 0 && static_cast<size_t>(id) < gpu_free_units_.size()) << "GPU " << id;
    gpu_free_units_[id] += allocation.gpu_units[i];
    RAYX_CHECK(gpu_free_units_[id] <= kWhole) << "GPU " << id << " released twice";
  }
  available_.Add(allocation.amounts);
}

ResourceSet NodeResources::CpuShare(const ResourceSet& amounts) {
  ResourceSet share;
  for (const auto& [name, units] : amounts.units()) {
    if (name == kCpu || name.rfind(kCpuGroupPrefix, 0) == 0) {
      share.Set(name, static_cast<double>(units) / kWhole);
    }
  }
  return share;
}

void NodeResources::ReleaseCpu(const ResourceSet& amounts) { available_.Add(amounts); }

void NodeResources::ReacquireCpu(const ResourceSet& amounts) { available_.Subtract(amounts); }

bool NodeResources::PrepareBundle(const std::string& hex, int index, const ResourceSet& bundle) {
  if (bundles_.count({hex, index}) != 0 || !Validate(bundle).ok() ||
      !bundle.IsSubsetOf(available_)) {
    return false;
  }
  std::vector<size_t> picked;
  int64_t gpu_units = bundle.GetUnits(kGpu);
  if (!PickGpus(gpu_free_units_, gpu_units, &picked)) return false;
  HeldBundle held;
  held.demand = bundle;
  held.derived = DerivedBundleResources(hex, index, bundle);
  for (size_t i : picked) {
    int64_t take = gpu_units >= kWhole ? kWhole : gpu_units;
    gpu_free_units_[i] -= take;
    held.gpus.push_back(GpuShare{static_cast<int>(i), take, take});
  }
  available_.Subtract(bundle);
  bundles_.emplace(BundleKey{hex, index}, std::move(held));
  return true;
}

void NodeResources::CommitBundle(const std::string& hex, int index) {
  auto it = bundles_.find({hex, index});
  if (it == bundles_.end() || it->second.committed) return;
  it->second.committed = true;
  total_.Add(it->second.derived);
  available_.Add(it->second.derived);
}

void NodeResources::ReturnBundle(const std::string& hex, int index) {
  auto it = bundles_.find({hex, index});
  if (it == bundles_.end()) return;
  HeldBundle& held = it->second;
  if (held.committed) {
    total_.Subtract(held.derived);
    available_.Subtract(held.derived);
  }
  for (const GpuShare& share : held.gpus) gpu_free_units_[share.gpu_id] += share.capacity;
  available_.Add(held.demand);
  bundles_.erase(it);
}

bool NodeResources::HoldsBundle(const std::string& hex, int index) const {
  return bundles_.count({hex, index}) != 0;
}

}  // namespace rayx
