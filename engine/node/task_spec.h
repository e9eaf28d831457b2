// TaskSpec: a task, an actor's creation task or an actor method call as the node keeps it, read
// once from a verified wire::TaskSpec with every id unpacked and checked; and the one writer of the
// ExecuteTask message that sends it to a worker.
//
// The frame limit: an ExecuteTask carries the arguments, maybe the function's definition, and the
// value of every dependency held inline, so a task with many large inline arguments could pass
// kMaxFrameSize (engine/wire/frame.h), where the worker would refuse the frame, or the 2 GiB a
// FlatBuffer can hold. ExecuteTaskFits tells beforehand; the managers call it once every argument
// is ready, and a task that does not fit fails (UNSCHEDULABLE) instead of being sent.
//
// Thread-compatible: plain data and pure functions.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

struct TaskSpec {
  TaskID task_id;
  std::string function_id;  // Empty for a method call.
  std::string name;
  std::string args;  // Opaque to the engine: the Python layer's serialized arguments.
  std::vector<ObjectID> dependencies;
  std::vector<ObjectID> contained;
  std::vector<ActorID> contained_actors;
  uint32_t num_returns = 1;
  ResourceSet resources;  // Checked as a demand. Not read for a method call: its actor holds them.
  int max_retries = 0;
  ActorID actor_id;  // A method call's actor; nil for a task or a creation task.
  std::string method;
  bool actor_creation = false;
  int max_concurrency = 0;
  uint32_t depth = 0;
  WorkerID direct_worker;  // The leased worker the owner sent the task to; nil if none.
  // Placement (scheduling_strategy; see protocol.fbs): nil affinity_node means none.
  NodeID affinity_node;
  bool affinity_soft = false;
  bool spread = false;
  // A generator task (protocol.fbs): it runs on its owner's node, never forwarded to a member.
  bool streaming = false;
  std::string job_namespace;  // The namespace of the job the task works for (protocol.fbs).
  // Not on the wire: forwarded by another member (a Role::Node client), so it runs here and is
  // never placed elsewhere; that member keeps its lineage.
  bool from_peer = false;
  // From a member that may take the task back (protocol.fbs TaskSpec.refusable).
  bool refusable = false;
  TaskID parent;  // The submitting task, when the client said (protocol.fbs); for the log.
  uint32_t first_attempt = 0;
  bool retry_exceptions = false;  // From a member: the owner's run of it (protocol.fbs attempt).

  bool is_actor_call() const { return !actor_id.IsNil() && !actor_creation; }
  bool is_direct() const { return !direct_worker.IsNil(); }
};

// Writes spec as a wire::TaskSpec into builder, for a SubmitTask that forwards it to another member
// (placement and direct_worker are left out: it runs where it is sent). refusable: the member may
// refuse it when it cannot start it at once.
flatbuffers::Offset<wire::TaskSpec> BuildTaskSpec(flatbuffers::FlatBufferBuilder& builder,
                                                  const TaskSpec& spec, bool refusable = false,
                                                  uint32_t attempt = 0);

// Reads spec (already verified as part of its frame). ProtocolError for a missing spec or a
// malformed id list; the error of ResourcesFromWire for resource amounts no task may ask for.
StatusOr<TaskSpec> ParseTaskSpec(const wire::TaskSpec* spec);

// What an ExecuteTask carries besides the spec.
struct ExecuteExtras {
  // The function's definition, for a worker that was never sent it; null otherwise.
  const std::string* function_blob = nullptr;
  // The values of spec.dependencies, one per id, in order; none is null.
  std::vector<const StoredValue*> dependency_values;
  int retries_left = 0;  // -1: for ever.
  std::vector<int> gpu_ids;
  uint32_t attempt = 0;  // 0 for the first run, one more per retry or rebuild.
  // A task's resources are those of the last task sent to the worker (ExecuteTask's
  // resources_as_before): they are not written.
  bool resources_as_before = false;
};

// True when the ExecuteTask of spec with extras stays within kMaxFrameSize (an upper bound of its
// encoded size is compared).
bool ExecuteTaskFits(const TaskSpec& spec, const ExecuteExtras& extras);

// Builds the ExecuteTask that sends spec to a worker into builder (which must be empty) and returns
// the message's bytes, valid while builder is. The spec's fields a worker needs are written: a
// method call's actor and method; a creation task's actor (ActorID::Of(task_id)), no returns and
// max_concurrency; a task's depth. InvalidArgument, with nothing built, when the message would not
// fit (ExecuteTaskFits).
StatusOr<std::string_view> BuildExecuteTask(flatbuffers::FlatBufferBuilder& builder,
                                            const TaskSpec& spec, const ExecuteExtras& extras);

}  // namespace rayx
