// How the client runtime lays out a task's spec and resource amounts in messages (protocol.fbs).
// Private to the client runtime.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <map>
#include <string>
#include <string_view>

#include "engine/base/ids.h"
#include "engine/client/client_types.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

// What a task's spec carries besides the submission itself.
struct SpecExtras {
  const WorkerID* direct_worker = nullptr;  // A direct task: the leased worker it was sent to.
  bool actor_creation = false;              // An actor's creation task: no returns.
  int max_concurrency = 0;                  // Creation only.
  TaskID parent;  // The submitting task (TaskContext::current_task), for the node's log.
  std::string_view job_namespace;  // TaskContext::job_namespace of the submitting thread.
};

// The spec of a task as the node and workers read it.
flatbuffers::Offset<wire::TaskSpec> BuildTaskSpec(flatbuffers::FlatBufferBuilder& b,
                                                  const TaskSubmission& task, const TaskID& task_id,
                                                  uint32_t depth, const SpecExtras& extras = {});

// Resource amounts as messages carry them.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> PackResources(
    flatbuffers::FlatBufferBuilder& b, const std::map<std::string, double>& resources);

}  // namespace rayx
