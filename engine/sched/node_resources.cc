#include "engine/sched/node_resources.h"

#include "engine/base/logging.h"

namespace rayx {
namespace {

constexpr int64_t kWhole = ResourceSet::kUnitsPerWhole;

constexpr char kCpuGroupPrefix[] = "CPU_group_";

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

std::optional<Allocation> NodeResources::TryAllocate(const ResourceSet& demand) {
  if (!Validate(demand).ok() || !demand.IsSubsetOf(available_)) return std::nullopt;
  Allocation allocation;
  int64_t gpu_units = demand.GetUnits(kGpu);
  if (gpu_units >= kWhole) {
    // A whole demand takes wholly free instances, lowest ids first.
    int64_t needed = gpu_units / kWhole;
    for (size_t i = 0; i < gpu_free_units_.size() && needed > 0; ++i) {
      if (gpu_free_units_[i] == kWhole) {
        allocation.gpu_ids.push_back(static_cast<int>(i));
        allocation.gpu_units.push_back(kWhole);
        --needed;
      }
    }
    if (needed > 0) return std::nullopt;
  } else if (gpu_units > 0) {
    // A fractional demand goes to the instance with the least room that still fits (best fit), so
    // partly used instances fill up before an idle one is touched; ties go to the lowest id.
    int best = -1;
    for (size_t i = 0; i < gpu_free_units_.size(); ++i) {
      int64_t room = gpu_free_units_[i];
      if (room >= gpu_units && (best < 0 || room < gpu_free_units_[best])) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return std::nullopt;
    allocation.gpu_ids.push_back(best);
    allocation.gpu_units.push_back(gpu_units);
  }
  // Nothing has changed yet; from here on the grant cannot fail.
  for (size_t i = 0; i < allocation.gpu_ids.size(); ++i) {
    gpu_free_units_[allocation.gpu_ids[i]] -= allocation.gpu_units[i];
  }
  available_.Subtract(demand);
  allocation.amounts = demand;
  return allocation;
}

void NodeResources::Release(const Allocation& allocation) {
  RAYX_CHECK(allocation.gpu_ids.size() == allocation.gpu_units.size());
  for (size_t i = 0; i < allocation.gpu_ids.size(); ++i) {
    int id = allocation.gpu_ids[i];
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

bool NodeResources::Reserve(const ResourceSet& demand, const ResourceSet& derived) {
  if (!Validate(demand).ok() || demand.GetUnits(kGpu) != 0 || !demand.IsSubsetOf(available_)) {
    return false;
  }
  available_.Subtract(demand);
  total_.Add(derived);
  available_.Add(derived);
  return true;
}

void NodeResources::Unreserve(const ResourceSet& demand, const ResourceSet& derived) {
  total_.Subtract(derived);
  available_.Subtract(derived);
  available_.Add(demand);
}

}  // namespace rayx
