#include "engine/client/task_submitter.h"

#include <flatbuffers/flatbuffers.h>

#include "engine/client/task_spec_builder.h"
#include "engine/wire/messages.h"

namespace rayx {

Status TaskSubmitter::ExportFunction(const std::string& function_id, ByteSpan blob) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exported_.insert(function_id).second) return Status::OK();
  }
  direct_->RememberFunction(function_id, blob);
  flatbuffers::FlatBufferBuilder b(64 + blob.size);
  auto id =
      b.CreateVector(reinterpret_cast<const uint8_t*>(function_id.data()), function_id.size());
  auto data = b.CreateVector(blob.data, blob.size);
  return channel_->Send(FinishEnvelope(b, wire::CreateExportFunction(b, id, data)));
}

StatusOr<std::vector<ObjectID>> TaskSubmitter::SubmitTask(const TaskSubmission& task) {
  TaskID task_id = context_->NextTaskId();
  std::vector<ObjectID> returns;
  returns.reserve(task.num_returns);
  for (uint32_t i = 0; i < task.num_returns; ++i) {
    returns.push_back(ObjectID::ForReturn(task_id, i));
    refs_->Announce(returns.back());  // SubmitTask tells the node that this process holds them.
  }
  uint32_t depth = context_->ChildDepth();
  TaskID parent = context_->current_task();
  std::string job_namespace = context_->job_namespace();
  std::string shape = DirectShape(task);
  bool request_lease = false;
  if (!shape.empty() &&
      direct_->TrySubmit(task, task_id, parent, depth, shape, job_namespace, &request_lease)) {
    return returns;
  }
  flatbuffers::FlatBufferBuilder b(256 + task.args.size);
  SpecExtras extras;
  extras.parent = parent;
  extras.job_namespace = job_namespace;
  auto spec = BuildTaskSpec(b, task, task_id, depth, extras);
  direct_->PromoteNamed(task.dependencies);
  direct_->PromoteNamed(task.contained);
  std::string_view submit = FinishEnvelope(b, wire::CreateSubmitTask(b, spec));
  if (!task.actor_id.IsNil()) {
    // An actor's calls queue at its worker, which takes a burst of them at once: they travel
    // together (NodeChannel::SendSoon). A task waits at the node for a free worker, one by one:
    // batching it only delays it (single_client_tasks_async lost a quarter).
    RAYX_RETURN_IF_ERROR(channel_->SendSoon(submit));
  } else {
    RAYX_RETURN_IF_ERROR(channel_->Send(submit));
  }
  if (request_lease) direct_->RequestLease(task, shape);
  return returns;
}

Status TaskSubmitter::Cancel(const ObjectID& id, bool force, bool recursive) {
  flatbuffers::FlatBufferBuilder b(64);
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  if (!force) {
    return channel_->Send(
        FinishEnvelope(b, wire::CreateCancelTask(b, object_id, false, recursive, 0)));
  }
  // force=True is refused for an actor's call, which only the node knows: it answers.
  uint64_t request_id = channel_->NextRequestId();
  RAYX_ASSIGN_OR_RETURN(
      std::string frame,
      channel_->Call(request_id, FinishEnvelope(b, wire::CreateCancelTask(b, object_id, true,
                                                                          recursive, request_id))));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* parsed, ParseEnvelope(frame));
  const wire::CancelReply* reply = parsed->message_as_CancelReply();
  if (reply == nullptr) return ProtocolError("expected CancelReply");
  if (reply->error() != nullptr && reply->error()->size() != 0) {
    return InvalidArgument(StringOf(reply->error()));
  }
  return Status::OK();
}

StatusOr<ActorLookup> TaskSubmitter::ActorCall(uint64_t request_id, std::string_view envelope) {
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, envelope));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* parsed, ParseEnvelope(frame));
  const wire::ActorReply* reply = parsed->message_as_ActorReply();
  if (reply == nullptr) return ProtocolError("expected ActorReply");
  if (reply->error() != nullptr && reply->error()->size() != 0) {
    return InvalidArgument(StringOf(reply->error()));
  }
  ActorLookup lookup;
  RAYX_ASSIGN_OR_RETURN(lookup.id, UnpackId<ActorID>(reply->actor_id()));
  lookup.handle_meta = std::string(BytesOf(reply->handle_meta()));
  return lookup;
}

StatusOr<ActorLookup> TaskSubmitter::CreateActor(const ActorCreation& creation) {
  const TaskSubmission& task = creation.task;
  direct_->PromoteNamed(task.dependencies);
  direct_->PromoteNamed(task.contained);
  TaskID task_id = context_->NextTaskId();
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(512 + task.args.size + creation.handle_meta.size());
  SpecExtras extras;
  extras.actor_creation = true;
  extras.max_concurrency = creation.max_concurrency;
  extras.parent = context_->current_task();
  std::string job_namespace = context_->job_namespace();
  extras.job_namespace = job_namespace;
  auto spec = BuildTaskSpec(b, task, task_id, /*depth=*/0, extras);
  auto lifetime = PackResources(b, creation.lifetime_resources);
  auto actor_name = b.CreateString(creation.name);
  auto ns = b.CreateString(creation.ns);
  auto meta = b.CreateVector(reinterpret_cast<const uint8_t*>(creation.handle_meta.data()),
                             creation.handle_meta.size());
  auto create = wire::CreateCreateActor(b, request_id, spec, lifetime, creation.max_restarts,
                                        creation.max_task_retries, actor_name, ns,
                                        creation.detached, creation.get_if_exists, meta);
  RAYX_ASSIGN_OR_RETURN(ActorLookup created, ActorCall(request_id, FinishEnvelope(b, create)));
  refs_->AnnounceActor(created.id);  // The node counts this process as a holder already.
  return created;
}

StatusOr<ActorLookup> TaskSubmitter::GetActor(const std::string& name, const std::string& ns) {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(128);
  auto get = wire::CreateGetActor(b, request_id, b.CreateString(name), b.CreateString(ns));
  return ActorCall(request_id, FinishEnvelope(b, get));
}

StatusOr<std::vector<std::pair<std::string, std::string>>> TaskSubmitter::ListNamedActors(
    const std::string& ns, bool all_namespaces) {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(128);
  auto list = wire::CreateListNamedActors(b, request_id, b.CreateString(ns), all_namespaces);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, list)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* parsed, ParseEnvelope(frame));
  const wire::NamedActorList* reply = parsed->message_as_NamedActorList();
  if (reply == nullptr) return ProtocolError("expected NamedActorList");
  if (reply->error() != nullptr && reply->error()->size() != 0) {
    return FailedPrecondition(reply->error()->str());
  }
  std::vector<std::pair<std::string, std::string>> actors;
  if (reply->actors() == nullptr) return actors;
  actors.reserve(reply->actors()->size());
  for (const wire::NamedActor* actor : *reply->actors()) {
    actors.emplace_back(StringOf(actor->namespace_()), StringOf(actor->name()));
  }
  return actors;
}

Status TaskSubmitter::KillActor(const ActorID& id, bool no_restart) {
  flatbuffers::FlatBufferBuilder b(64);
  auto actor_id = b.CreateVector(id.data(), ActorID::kSize);
  return channel_->Send(FinishEnvelope(b, wire::CreateKillActor(b, actor_id, no_restart)));
}

StatusOr<PlacementGroupAnswer> TaskSubmitter::PlacementGroupCall(uint8_t op,
                                                                 const PlacementGroupInfo& group) {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::Bundle>> bundles;
  for (const auto& bundle : group.bundles) {
    bundles.push_back(wire::CreateBundle(b, PackResources(b, bundle)));
  }
  auto record = wire::CreatePlacementGroupRecord(
      b, b.CreateVector(reinterpret_cast<const uint8_t*>(group.id.data()), group.id.size()),
      b.CreateString(group.name), b.CreateString(group.strategy), 0, b.CreateVector(bundles), 0,
      group.detached);
  auto request = wire::CreatePlacementGroupRequest(b, request_id,
                                                   static_cast<wire::PlacementGroupOp>(op), record);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, request)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* parsed, ParseEnvelope(frame));
  const wire::PlacementGroupReply* reply = parsed->message_as_PlacementGroupReply();
  if (reply == nullptr) return ProtocolError("expected PlacementGroupReply");
  PlacementGroupAnswer answer;
  answer.error = StringOf(reply->error());
  if (reply->groups() == nullptr) return answer;
  for (const wire::PlacementGroupRecord* r : *reply->groups()) {
    PlacementGroupInfo info;
    info.id = std::string(BytesOf(r->id()));
    info.name = StringOf(r->name());
    info.strategy = StringOf(r->strategy());
    info.state = r->state();
    info.detached = r->detached();
    if (r->node_id() != nullptr && r->node_id()->size() != 0) {
      RAYX_ASSIGN_OR_RETURN(info.node_id, UnpackId<NodeID>(r->node_id()));
    }
    if (r->bundle_nodes() != nullptr) {
      RAYX_ASSIGN_OR_RETURN(std::vector<NodeID> nodes, UnpackIds<NodeID>(r->bundle_nodes()));
      for (const NodeID& node : nodes) info.bundle_nodes.append(node.Binary());
    }
    if (r->bundles() != nullptr) {
      for (const wire::Bundle* bundle : *r->bundles()) {
        std::map<std::string, double> amounts;
        if (bundle->resources() != nullptr) {
          for (const wire::ResourceAmount* a : *bundle->resources()) {
            amounts[StringOf(a->name())] = a->amount();
          }
        }
        info.bundles.push_back(std::move(amounts));
      }
    }
    answer.groups.push_back(std::move(info));
  }
  return answer;
}

}  // namespace rayx
