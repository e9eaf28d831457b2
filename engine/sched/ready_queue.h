// ReadyQueue: tasks whose arguments are ready and that wait for resources, by scheduling class.
//
// Tasks with the same resource demand form one class. Within a class, deeper tasks (submitted by
// tasks, by tasks of tasks, ...) leave first, and tasks of the same depth leave in the order they
// came (FIFO). Deeper-first makes recursive programs run depth first: the tasks that blocked
// parents wait for run before new breadth is opened, so few workers block at once.
// Dispatch walks the classes in the order they first appeared and grants each head task while its
// demand fits; a class whose head does not fit is skipped (it does not block other classes), so a
// 2-CPU task waiting does not stop 1-CPU tasks from running while it cannot fit.
//
// Pure logic, no I/O. Not thread-safe: owned by the node's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <unordered_map>
#include <utility>

#include "engine/sched/node_resources.h"
#include "engine/sched/resource_set.h"

namespace rayx {

class ReadyQueue {
 public:
  using TaskKey = uint64_t;
  // Called with each task granted; returns false to refuse it (no worker to run it now), in which
  // case the allocation is released, the task stays at the head of its class, and that class is
  // not tried again in this Dispatch call. REQUIRES: it does not call back into this queue.
  using DispatchFn = std::function<bool(TaskKey, const Allocation&)>;

  // depth: how deep in the task tree the task was submitted (0 for the driver's own tasks).
  // REQUIRES: key not queued already.
  void Push(TaskKey key, const ResourceSet& demand, uint32_t depth = 0);
  // Removes a queued task (it was cancelled); false if it is not here.
  bool Remove(TaskKey key);

  // Grants as many queued tasks as resources allow, in the order above. Returns how many were
  // dispatched.
  size_t Dispatch(NodeResources* resources, const DispatchFn& dispatch);

  size_t size() const { return where_.size(); }
  bool empty() const { return where_.empty(); }

 private:
  // Orders a class's tasks: deepest first, then by arrival.
  using Position = std::pair<int64_t, uint64_t>;  // (-depth, arrival).
  struct SchedulingClass {
    ResourceSet demand;
    std::map<Position, TaskKey> tasks;
  };
  std::list<SchedulingClass> classes_;  // In order of first appearance; empty ones are removed.
  std::map<ResourceSet, std::list<SchedulingClass>::iterator> by_demand_;
  std::unordered_map<TaskKey, std::pair<std::list<SchedulingClass>::iterator, Position>> where_;
  uint64_t arrivals_ = 0;
  bool dispatching_ = false;  // True inside Dispatch, to catch a DispatchFn that re-enters.
};

}  // namespace rayx
