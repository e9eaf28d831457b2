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
#include <map>
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
  // For GPUs of a placement group's bundles: the group's hex and, per gpu_ids entry, the index of
  // the bundle it came from ("" when the GPUs are the node's own).
  std::string gpu_group;
  std::vector<int> gpu_bundles;
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

  // Placement group bundles (placement_group_resources.h), held in two phases as Ray's raylets
  // hold them. PrepareBundle takes bundle from what is free now and holds it for bundle index of
  // the group whose hex this is, GPU instances included (a whole amount takes as many wholly free
  // instances, a fraction below 1 a share of one, as TryAllocate does): false, and nothing
  // changes, when it does not fit or that bundle is held here already. CommitBundle adds the
  // bundle's derived resources (DerivedBundleResources) to the total and to what is free; from
  // then on work that asks for GPU_group_<index>_<hex> (or GPU_group_<hex>: any bundle of the
  // group held here) is given the bundle's GPU instances by id, as work asking for GPU is given
  // the node's. ReturnBundle undoes either phase: the derived resources leave the total and
  // what is free (what running work still holds of them goes below zero there, and back to zero
  // as it is released; its GPU share is not given back twice), and the bundle is free again.
  // Commit and Return of a bundle not held are no-ops.
  bool PrepareBundle(const std::string& hex, int index, const ResourceSet& bundle);
  void CommitBundle(const std::string& hex, int index);
  void ReturnBundle(const std::string& hex, int index);
  // Whether bundle index of the group is held here (prepared or committed).
  bool HoldsBundle(const std::string& hex, int index) const;

  const ResourceSet& total() const { return total_; }
  const ResourceSet& available() const { return available_; }

 private:
  // One GPU instance's share that a bundle holds.
  struct GpuShare {
    int gpu_id = 0;
    int64_t capacity = 0;  // Units of the instance the bundle took.
    int64_t free = 0;      // Of those, the units no work holds.
  };
  struct HeldBundle {
    ResourceSet demand;   // What it took from the node.
    ResourceSet derived;  // What it added, once committed.
    bool committed = false;
    std::vector<GpuShare> gpus;
  };
  using BundleKey = std::pair<std::string, int>;  // (group hex, bundle index).

  // Picks GPU instances for units (whole or a share of one) among candidates' free units; the
  // indexes into candidates, and the units taken from each, or false when they do not fit.
  static bool PickGpus(const std::vector<int64_t>& free, int64_t units,
                       std::vector<size_t>* picked);
  // The GPU part of a demand placed in a group's bundle: fills allocation from the bundles' shares
  // (false when they do not fit), or returns true with nothing to do.
  bool AllocateBundleGpus(const ResourceSet& demand, Allocation* allocation);

  ResourceSet total_;
  ResourceSet available_;
  std::vector<int64_t> gpu_free_units_;  // Per GPU instance: free units, kUnitsPerWhole when idle.
  std::map<BundleKey, HeldBundle> bundles_;
};

}  // namespace rayx
