// NodeService's share of ray.cancel: which manager holds the task, Ray's rules for actor calls,
// and recursive cancels (node_service.h).
#include <utility>
#include <vector>

#include "engine/node/node_service.h"
#include "engine/node/node_service_session.h"
#include "engine/wire/messages.h"

namespace rayx {

Status NodeService::HandleCancel(Session* session, const wire::CancelTask* cancel) {
  RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(cancel->object_id()));
  Status result = CancelTree(id.Task(), cancel->force(), cancel->recursive());
  if (cancel->request_id() == 0) return Status::OK();
  flatbuffers::FlatBufferBuilder b(128);
  auto error = b.CreateString(result.ok() ? std::string() : result.message());
  session->connection->Send(
      FinishEnvelope(b, wire::CreateCancelReply(b, cancel->request_id(), error)));
  return Status::OK();
}

Status NodeService::CancelTree(const TaskID& task_id, bool force, bool recursive) {
  bool actor_call = actors_->HasCall(task_id) ||
                    (cluster_work_ != nullptr && cluster_work_->HasActorCall(task_id));
  if (actor_call && force) {
    // Ray's words; ray.kill(actor) is the way to stop an actor.
    return InvalidArgument("force=True is not supported for actor tasks.");
  }
  // Children first found, then their parent cancelled: a parent cancelled before it is queued
  // finishes at once, and its children are still found by its id.
  std::vector<TaskID> level = {task_id};
  while (!level.empty()) {
    std::vector<TaskID> next;
    for (const TaskID& id : level) {
      if (recursive) {
        tasks_->AppendChildren(id, &next);
        actors_->AppendChildren(id, &next);
        if (cluster_work_ != nullptr) cluster_work_->AppendChildren(id, &next);
      }
      bool goes_on = CancelOne(id, force, recursive);
      if (recursive && goes_on) cancelled_parents_.Add(id);
    }
    level = std::move(next);
  }
  return Status::OK();
}

bool NodeService::CancelOne(const TaskID& task_id, bool force, bool recursive) {
  // Ray ignores force for the actor calls a recursive cancel reaches.
  if (actors_->HasCall(task_id)) return actors_->CancelCall(task_id);
  if (cluster_work_ != nullptr && cluster_work_->HasActorCall(task_id)) {
    return cluster_work_->CancelActorCall(task_id, recursive);
  }
  return tasks_->Cancel(task_id, force, recursive);
}

}  // namespace rayx
