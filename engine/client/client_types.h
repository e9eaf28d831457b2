// The values a process's client runtime takes and gives back: what to store, what was read, what
// to submit and what a worker is asked to run. No generated FlatBuffers type appears here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/objects/object_entry_info.h"
#include "engine/objects/object_format.h"
#include "engine/objects/shm_file.h"
#include "engine/wire/values.h"

namespace rayx {

// What the node told this process when it connected.
struct WelcomeInfo {
  NodeID node_id;
  JobID job_id;
  WorkerID worker_id;
  std::string session_dir;
};

// Values above this size go through shared memory rather than inline in messages.
constexpr size_t kInlineThreshold = 100 * 1024;

// A value to store: its parts are written as one serialized object (object_format.h). The bytes
// are the caller's and must stay valid for the duration of the call that takes the value.
struct OutgoingValue {
  ValueKind kind = ValueKind::kValue;
  ByteSpan data{nullptr, 0};
  std::vector<ByteSpan> buffers;
  std::vector<ObjectID> contained;
  std::vector<ActorID> contained_actors;  // Actors whose handles are inside.
};

// A value read back: inline bytes, or a read-only mapping of its shared-memory file. The node is
// told when the last copy of the mapping goes (a mapped object is pinned in its memory).
struct IncomingValue {
  ValueKind kind = ValueKind::kValue;
  std::string inline_data;
  std::shared_ptr<MappedRegion> mapping;
};

struct TaskSubmission {
  std::string function_id;
  std::string name;
  ByteSpan args{nullptr, 0};
  std::vector<ObjectID> dependencies;
  std::vector<ObjectID> contained;
  std::vector<ActorID> contained_actors;  // Actors whose handles are inside.
  uint32_t num_returns = 1;
  std::map<std::string, double> resources;
  int max_retries = 0;
  bool retry_exceptions = false;
  // A method call: the actor and the method's name (function_id is then empty).
  ActorID actor_id;
  std::string method;
  // Placement (scheduling_strategy): NodeAffinitySchedulingStrategy's node (nil: none) and soft,
  // or "SPREAD". A task with one is never sent to a leased worker: its node places it.
  NodeID affinity_node;
  bool affinity_soft = false;
  bool spread = false;
  // A generator task (protocol.fbs TaskSpec.streaming): never sent to a leased worker.
  bool streaming = false;

  bool has_placement() const { return spread || !affinity_node.IsNil(); }
};

// An actor to create: its creation task (function_id names the exported class, resources are
// what placing it takes) and its options (see CreateActor in protocol.fbs).
struct ActorCreation {
  TaskSubmission task;
  std::map<std::string, double> lifetime_resources;
  int max_restarts = 0;
  int max_task_retries = 0;
  int max_concurrency = 1;
  std::string name;
  std::string ns;
  bool detached = false;
  bool get_if_exists = false;
  std::string handle_meta;
};

struct ActorLookup {
  ActorID id;
  std::string handle_meta;
};

// A placement group as a client names it to the node and reads it back (PlacementGroupRequest).
// id: the group's 18 raw bytes, chosen by the client that creates it.
struct PlacementGroupInfo {
  std::string id;
  std::string name;
  std::string strategy;  // "PACK", "SPREAD", "STRICT_PACK" or "STRICT_SPREAD".
  int state = 0;         // 0 pending, 1 created, 2 removed, 3 rescheduling.
  std::vector<std::map<std::string, double>> bundles;
  NodeID node_id;  // Where bundle 0 is reserved; nil while it is not.
  bool detached = false;
  // Per bundle, the raw NodeID of the member that holds it, concatenated (zeros: none does).
  std::string bundle_nodes;
};

// The node's answer to a placement group request: error empty, or "KIND: message".
struct PlacementGroupAnswer {
  std::string error;
  std::vector<PlacementGroupInfo> groups;
};

// Node-wide object store figures.
struct StoreStats {
  uint64_t capacity = 0, used = 0, num_objects = 0, num_in_memory = 0, num_spilled = 0;
  uint64_t spilled_bytes = 0, spill_count = 0, spill_bytes_total = 0;
  uint64_t restore_count = 0, restore_bytes_total = 0;
  std::string store_dir, spill_dir;
  uint64_t lineage_tasks = 0, rebuilt_tasks = 0;
};

// The node's object table, entry by entry (ObjectClient::List); ObjectEntryInfo's fields.
struct ObjectListing {
  std::vector<ObjectEntryInfo> objects;
  uint64_t truncated = 0;  // Entries the node left out (wire kMaxObjectListEntries).
};

// One node of the cluster as the node describes it.
struct NodeDescription {
  NodeID id;
  bool alive = false;
  std::string address;
  std::map<std::string, double> total;
  std::map<std::string, double> available;
};

// When a worker's report of a finished task goes to the node (TaskExecutor::TaskDone). Only a
// report that may wait (TaskExecutor::WaitsForOthers) waits; the others go at once.
enum class ReportTiming : uint8_t {
  kNow,         // At once, or before the thread that takes the tasks waits for the next one.
  kAfterFlush,  // With the caller's next reports, at its FlushResults (an async actor's loop
                // turn), kFlushDelay at most.
  kSoon,        // With the reports of other threads, kSoonDelay at most (a threaded actor's).
};

// A task a worker is asked to run. The string views point into frame, which the TaskToRun owns:
// it is filled in place (see TaskExecutor::NextTask) and must not be moved or copied afterwards.
struct TaskToRun {
  TaskToRun() = default;
  TaskToRun(const TaskToRun&) = delete;
  TaskToRun& operator=(const TaskToRun&) = delete;

  std::string frame;
  TaskID task_id;
  std::string_view function_id;
  bool has_function_blob = false;  // The function's definition comes with the task.
  std::string_view function_blob;
  std::string_view name;
  std::string_view args;
  std::string_view method;  // An actor call's method; empty otherwise.
  std::vector<IncomingValue> dependency_values;
  std::vector<ObjectID> returns;
  int retries_left = 0;
  std::vector<int> gpu_ids;
  // The run of the task (ExecuteTask.attempt): for an actor's creation, times it was restarted.
  uint32_t attempt = 0;
  // What the task asked for (its spec's resources), names pointing into frame.
  std::vector<std::pair<std::string_view, double>> resources;
  bool actor_creation = false;
  int max_concurrency = 0;
  bool cancelled = false;  // Cancelled before it came: report it cancelled, do not run it.
  // Not a task: the node cancelled task_id (TaskExecutor::EnableCancelNotices); nothing else set.
  bool cancel_notice = false;
};

}  // namespace rayx
