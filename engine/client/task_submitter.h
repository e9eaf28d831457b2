// TaskSubmitter: a process's tasks and actors as it asks its node for them: function exports,
// task submission (direct when it can be, see DirectSubmitter), cancellation, and the creation,
// lookup and killing of actors.
//
// Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/direct_submitter.h"
#include "engine/client/node_channel.h"
#include "engine/client/reference_counter.h"
#include "engine/client/task_context.h"

namespace rayx {

class TaskSubmitter {
 public:
  // Every pointer must outlive the submitter.
  TaskSubmitter(NodeChannel* channel, ReferenceCounter* refs, TaskContext* context,
                DirectSubmitter* direct)
      : channel_(channel), refs_(refs), context_(context), direct_(direct) {}

  // Sends a function's definition to the node, once per function id.
  Status ExportFunction(const std::string& function_id, ByteSpan blob);
  // Returns the return object ids, held by this process from the start (see ObjectClient::Put).
  StatusOr<std::vector<ObjectID>> SubmitTask(const TaskSubmission& task);
  // Cancels the task that makes id (ray.cancel). With force, waits for the node's answer:
  // InvalidArgument when id is an actor call's (Ray refuses force=True there).
  Status Cancel(const ObjectID& id, bool force, bool recursive);

  // Creates an actor (or finds the live one of that name with get_if_exists). InvalidArgument
  // when the name is taken.
  StatusOr<ActorLookup> CreateActor(const ActorCreation& creation);
  // The live actor of this name; InvalidArgument when there is none.
  StatusOr<ActorLookup> GetActor(const std::string& name, const std::string& ns);
  Status KillActor(const ActorID& id, bool no_restart);
  // The (namespace, name) of the live named actors in ns, or with all_namespaces in any, across
  // the cluster; sorted. FailedPrecondition when the node refuses (too many to list).
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListNamedActors(const std::string& ns,
                                                                             bool all_namespaces);

  // A placement group request (protocol.fbs PlacementGroupRequest): op is a wire::PlacementGroupOp
  // value; group says what the op needs (see there). The node's refusal comes back in the
  // answer's error, not as a failed status (which means the node could not be asked).
  StatusOr<PlacementGroupAnswer> PlacementGroupCall(uint8_t op, const PlacementGroupInfo& group);

 private:
  StatusOr<ActorLookup> ActorCall(uint64_t request_id, std::string_view envelope);

  NodeChannel* const channel_;
  ReferenceCounter* const refs_;
  TaskContext* const context_;
  DirectSubmitter* const direct_;

  std::mutex mu_;
  std::unordered_set<std::string> exported_;  // GUARDED_BY(mu_)
};

}  // namespace rayx
