// NodeResources: what one node has in total and what is free now, with GPU instances.
//
// GPUs are handed out by index so that a task sees exactly the devices it holds
// (CUDA_VISIBLE_DEVICES, get_gpu_ids). A demand of n >= 1 GPUs (n whole) takes n GPU instances
// that are wholly free; a fractional demand below 1 takes that share of one instance, packing
// onto an instance that is already partly used when one has room. A fractional demand above 1
// (1.5 GPUs) is refused by Validate. Other resources are plain amounts.
//
// Pure logic, no I/O. Not thread-safe: owned by the node's loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/sched/resource_set.h"

namespace rayx {

inline constexpr char kCpu[] = "CPU";
inline constexpr char kGpu[] = "GPU";

// What one grant holds: the amounts, and for a GPU demand which instances and how much of each.
struct Allocation {
  ResourceSet amounts;
  std::vector<int> gpu_ids;        // Ascending.
  std::vector<int64_t> gpu_units;  // Units taken from each of gpu_ids, same order.
};

class NodeResources {
 public:
  // total's "GPU" amount must be whole; it is the number of GPU instances, numbered from 0.
  explicit NodeResources(const ResourceSet& total);

  // InvalidArgument when the demand cannot be expressed on any node: a fractional GPU demand
  // above 1, for example.
  static Status Validate(const ResourceSet& demand);

  // True when the demand fits the node's total (it could run here once everything is free).
  bool IsFeasible(const ResourceSet& demand) const;

  // Grants demand if it fits what is free now, else nullopt and nothing changes.
  std::optional<Allocation> TryAllocate(const ResourceSet& demand);

  // Gives back everything an allocation holds. REQUIRES: allocation came from this object and
  // was not released before.
  void Release(const Allocation& allocation);

  // Takes away or gives back CPU alone, for a worker that blocks in get (gives its CPU back) and
  // wakes (takes it again, even if that oversubscribes the node for a while). amounts holds "CPU"
  // and the CPU a placement group's bundle reserved ("CPU_group_..."; see CpuShare).
  void ReleaseCpu(const ResourceSet& amounts);
  void ReacquireCpu(const ResourceSet& amounts);
  // The CPU part of an allocation: its "CPU" and "CPU_group_*" entries.
  static ResourceSet CpuShare(const ResourceSet& amounts);

  // Placement groups (placement_group_resources.h). Reserve takes demand from what is free now
  // and adds derived to both the total and what is free, all or nothing: false, and nothing
  // changes, when demand does not fit what is free. A demand for GPUs is refused (false): GPU
  // instances are not reserved by bundle. Unreserve undoes one Reserve: derived leaves the total
  // and what is free (what running work still holds of it goes below zero there, and back to
  // zero as it is released), and demand is free again. REQUIRES for Unreserve: the same demand and
  // derived as a Reserve that succeeded and was not undone.
  bool Reserve(const ResourceSet& demand, const ResourceSet& derived);
  void Unreserve(const ResourceSet& demand, const ResourceSet& derived);

  const ResourceSet& total() const { return total_; }
  const ResourceSet& available() const { return available_; }

 private:
  ResourceSet total_;
  ResourceSet available_;
  std::vector<int64_t> gpu_free_units_;  // Per GPU instance: free units, kUnitsPerWhole when idle.
};

}  // namespace rayx
