#include "engine/node/node_service.h"

#include <unistd.h>

#include <optional>

#include "engine/base/logging.h"
#include "engine/node/get_reply.h"
#include "engine/node/node_service_session.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/wire/messages.h"
#include "engine/wire/socket_paths.h"

namespace rayx {

NodeService::NodeService(EventLoop* loop, const NodeID& node_id, std::string session_dir,
                         ObjectTable* objects, WorkerPool* pool, TaskManager* tasks,
                         ActorManager* actors,
                         std::unordered_map<std::string, std::string>* functions)
    : loop_(loop),
      node_id_(node_id),
      session_dir_(std::move(session_dir)),
      objects_(objects),
      pool_(pool),
      tasks_(tasks),
      actors_(actors),
      functions_(functions) {}

NodeService::~NodeService() { CloseAll(); }

JobID NodeService::NextJobId() {
  if (cluster_work_ == nullptr) return JobID::FromInt(next_job_++);
  JobID id;
  do {
    id = JobID::FromRandom();
  } while (id.IsNil());
  return id;
}

void NodeService::Accept(std::shared_ptr<Connection> connection, ClientOrigin origin) {
  auto session = std::make_unique<Session>();
  session->key = next_session_++;
  session->origin = origin;
  session->connection = connection;
  Session* raw = session.get();
  sessions_.emplace(raw->key, std::move(session));
  Connection::FrameHandler on_frame = [this, raw](std::string_view frame) { OnFrame(raw, frame); };
  Connection::CloseHandler on_close = [this, raw](const Status& why) {
    RAYX_LOG(Debug) << "client connection closed: " << why;
    OnClose(raw);
  };
  if (origin != ClientOrigin::kLocal) {
    connection->Rebind(std::move(on_frame), std::move(on_close));
  } else {
    connection->Start(std::move(on_frame), std::move(on_close));
  }
}

void NodeService::CloseAll() {
  std::vector<std::shared_ptr<Connection>> connections;
  for (auto& [key, session] : sessions_) connections.push_back(session->connection);
  for (auto& c : connections) c->Close(Unavailable("node stopping"));
}

void NodeService::OnFrame(Session* session, std::string_view frame) {
  auto envelope = ParseEnvelope(frame);
  Status status = envelope.ok() ? Handle(session, *envelope, frame) : envelope.status();
  actors_->CollectUnreferenced();
  if (!status.ok()) {
    RAYX_LOG(Warning) << "closing a client connection: " << status;
    session->connection->Close(status);
  }
}

Status NodeService::Handle(Session* session, const wire::Envelope* envelope,
                           std::string_view frame) {
  if (!session->greeted && envelope->message_type() != wire::Message::Hello) {
    return ProtocolError("the first message must be Hello");
  }
  if (session->role == wire::Role::Observer &&
      envelope->message_type() != wire::Message::InfoRequest &&
      envelope->message_type() != wire::Message::ObjectStoreStatsRequest) {
    return ProtocolError("an observer may only ask for information");
  }
  switch (envelope->message_type()) {
    case wire::Message::Hello:
      return HandleHello(session, envelope->message_as_Hello());
    case wire::Message::SubmitTask:
      return HandleSubmit(session, envelope->message_as_SubmitTask());
    case wire::Message::ExportFunction: {
      const auto* e = envelope->message_as_ExportFunction();
      auto added = functions_->emplace(std::string(BytesOf(e->function_id())),
                                       std::string(BytesOf(e->blob())));
      if (lineage_ && added.second)
        lineage_->FunctionExported(added.first->first, added.first->second);
      return Status::OK();
    }
    case wire::Message::PutObject:
      return HandlePut(session, envelope->message_as_PutObject());
    case wire::Message::GetObjects:
      return HandleGet(session, envelope->message_as_GetObjects());
    case wire::Message::WaitObjects:
      return HandleWait(session, envelope->message_as_WaitObjects());
    case wire::Message::RefCountUpdate:
      return HandleRefCounts(session, envelope->message_as_RefCountUpdate());
    case wire::Message::CancelTask:
      return HandleCancel(session, envelope->message_as_CancelTask());
    case wire::Message::InfoRequest:
      return HandleInfo(session, envelope->message_as_InfoRequest());
    case wire::Message::CreateActor:
      return HandleCreateActor(session, envelope->message_as_CreateActor(), frame);
    case wire::Message::GetActor:
      return HandleGetActor(session, envelope->message_as_GetActor());
    case wire::Message::ListNamedActors:
      return HandleListNamedActors(session, envelope->message_as_ListNamedActors());
    case wire::Message::KillActor: {
      const auto* k = envelope->message_as_KillActor();
      RAYX_ASSIGN_OR_RETURN(ActorID id, UnpackId<ActorID>(k->actor_id()));
      if (cluster_work_ != nullptr && cluster_work_->IsRemoteActor(id)) {
        cluster_work_->KillActor(id, k->no_restart());
      } else {
        actors_->Kill(id, k->no_restart());
      }
      return Status::OK();
    }
    case wire::Message::ObjectStoreStatsRequest:
      return HandleStats(session, envelope->message_as_ObjectStoreStatsRequest());
    case wire::Message::ListObjects:
      return HandleListObjects(session, envelope->message_as_ListObjects());
    case wire::Message::FreeObjects:
      return HandleFreeObjects(session, envelope->message_as_FreeObjects());
    case wire::Message::DropObjectCopies:
      return HandleDropCopies(session, envelope->message_as_DropObjectCopies());
    case wire::Message::PlacementGroupRequest:
      return HandlePlacementGroup(session, envelope->message_as_PlacementGroupRequest());
    case wire::Message::BundleRequest:
      return HandleBundleRequest(session, envelope->message_as_BundleRequest());
    case wire::Message::ReadObject:
      return HandleReadObject(session, envelope->message_as_ReadObject());
    case wire::Message::TaskDone: {
      Worker* worker = session->worker_id.IsNil() ? nullptr : pool_->Find(session->worker_id);
      if (worker == nullptr) return ProtocolError("TaskDone from a client that is not a worker");
      const wire::TaskDone* done = envelope->message_as_TaskDone();
      if (actors_->OwnsWorker(worker) && !tasks_->AwaitsDirectReport(worker, done))
        return actors_->OnTaskDone(worker, done);
      return tasks_->OnTaskDone(worker, done, frame);
    }
    case wire::Message::TaskStarted: {
      Worker* worker = session->worker_id.IsNil() ? nullptr : pool_->Find(session->worker_id);
      if (worker == nullptr) return ProtocolError("TaskStarted from a client that is not a worker");
      worker->task_name = StringOf(envelope->message_as_TaskStarted()->name());
      return Status::OK();
    }
    case wire::Message::RequestLease:
      return HandleRequestLease(session, envelope->message_as_RequestLease());
    case wire::Message::ReturnLease: {
      RAYX_ASSIGN_OR_RETURN(WorkerID id,
                            UnpackId<WorkerID>(envelope->message_as_ReturnLease()->worker_id()));
      if (session->leases.erase(id) == 0) return Status::OK();  // It died meanwhile.
      Worker* worker = pool_->Find(id);
      // The owner gives a lease back only when it has every result from it.
      if (worker != nullptr) tasks_->ReturnLease(worker, /*worker_idle=*/true);
      return Status::OK();
    }
    default:
      return ProtocolError("unexpected message type " +
                           std::to_string(static_cast<int>(envelope->message_type())));
  }
}

Status NodeService::HandleHello(Session* session, const wire::Hello* hello) {
  if (session->greeted) return ProtocolError("a second Hello");
  if (hello->protocol_version() != kProtocolVersion) {
    return ProtocolError("protocol version " + std::to_string(hello->protocol_version()) +
                         " is not this node's " + std::to_string(kProtocolVersion));
  }
  if (hello->role() > wire::Role::MAX) return ProtocolError("unknown client role");
  if (session->origin == ClientOrigin::kRemoteDriver && hello->role() != wire::Role::Driver) {
    return ProtocolError(
        "a client attached over TCP must be a driver (workers use the node's Unix socket)");
  }
  if (session->origin == ClientOrigin::kMember && hello->role() != wire::Role::Node) {
    return ProtocolError("a member's client link must say Hello as a node");
  }
  session->greeted = true;
  session->role = hello->role();
  WorkerID client_id = WorkerID::FromRandom();
  if (hello->role() == wire::Role::Worker) {
    RAYX_ASSIGN_OR_RETURN(client_id, UnpackId<WorkerID>(hello->worker_id()));
    if (pool_->Find(client_id) == nullptr) {
      // Also the hello of a worker killed after it sent it: its exit was handled first.
      return ProtocolError(
          "a worker that this node did not start, or that has exited since, said hello");
    }
  } else if (hello->role() == wire::Role::Driver) {
    session->job_id = NextJobId();
  } else if (hello->role() == wire::Role::Node) {
    RAYX_ASSIGN_OR_RETURN(session->member_id, UnpackId<NodeID>(hello->node_id()));
  }
  flatbuffers::FlatBufferBuilder b(128);
  auto node_id = b.CreateVector(node_id_.data(), NodeID::kSize);
  auto job_id = b.CreateVector(session->job_id.data(), JobID::kSize);
  auto worker_id = b.CreateVector(client_id.data(), WorkerID::kSize);
  // A driver over TCP maps nothing: it is not told where the files are.
  auto dir = b.CreateString(session->origin == ClientOrigin::kRemoteDriver ? "" : session_dir_);
  session->connection->Send(
      FinishEnvelope(b, wire::CreateWelcome(b, node_id, job_id, worker_id, dir)));
  if (hello->role() == wire::Role::Worker) {
    // Registered after the welcome, since a registered worker may be sent a task at once.
    if (pool_->Register(client_id, session->connection) == nullptr) {
      return ProtocolError("worker " + client_id.Hex() + " said hello twice");
    }
    session->worker_id = client_id;
  }
  return Status::OK();
}

void NodeService::Hold(Session* session, const ObjectID& id) {
  if (session->held.insert(id).second) objects_->AddHolder(id);
}

void NodeService::BorrowFromMember(Session* session, const std::vector<ObjectID>& ids) {
  if (session->role != wire::Role::Node || cluster_work_ == nullptr) return;
  for (const ObjectID& id : ids) cluster_work_->Borrow(id, session->member_id);
}

Status NodeService::HandleSubmit(Session* session, const wire::SubmitTask* submit) {
  const wire::TaskSpec* spec = submit->spec();
  if (spec == nullptr) return ProtocolError("SubmitTask without a spec");
  RAYX_ASSIGN_OR_RETURN(TaskID task_id, UnpackId<TaskID>(spec->task_id()));
  if (spec->num_returns() > kMaxNumReturns) return ParseTaskSpec(spec).status();  // It says why.
  StatusOr<TaskSpec> parsed = ParseTaskSpec(spec);
  Status status = parsed.status();
  if (parsed.ok() && session->role == wire::Role::Node) {
    // A member's forwarded task runs here (its owner placed it); it is never sent on. One sent on
    // a stale view of this node's free resources is refused when it cannot start now.
    parsed->from_peer = true;
    if (parsed->refusable && !parsed->is_actor_call() && !parsed->actor_creation &&
        !tasks_->CanStartNow(parsed->resources)) {
      flatbuffers::FlatBufferBuilder b(128);
      auto id = b.CreateVector(task_id.data(), TaskID::kSize);
      auto reason = b.CreateString("this node has not " + parsed->resources.ToString() +
                                   " free now (" + tasks_->resources().available().ToString() +
                                   " of " + tasks_->resources().total().ToString() + ")");
      session->connection->Send(FinishEnvelope(b, wire::CreateSubmitRefused(b, id, reason)));
      return Status::OK();
    }
    BorrowFromMember(session, parsed->dependencies);
    BorrowFromMember(session, parsed->contained);
  }
  // The submitter holds the returns from the start; its first RefCountUpdate may come later.
  for (uint32_t i = 0; i < spec->num_returns(); ++i) {
    ObjectID id = ObjectID::ForReturn(task_id, i);
    objects_->CreatePending(id);
    Hold(session, id);
  }
  if (parsed.ok() && lineage_) {
    // A generator task's items are not in the log: it runs again in a replay.
    if (auto reused =
            parsed->streaming
                ? std::nullopt
                : lineage_->Reuse(*parsed)) {  // A replay: the logged results, without running.
      for (uint32_t i = 0; i < reused->size(); ++i)
        objects_->Seal(ObjectID::ForReturn(task_id, i), std::move((*reused)[i]));
      return Status::OK();
    }
    lineage_->Submitted(*parsed, session->role == wire::Role::Driver);
  }
  // Submitted by a task that a recursive cancel reached while it ran: cancelled as it arrives.
  bool parent_cancelled = parsed.ok() && cancelled_parents_.Contains(parsed->parent);
  if (parsed.ok() && parsed->is_direct()) {
    if (parsed->is_actor_call()) return ProtocolError("an actor call cannot be a direct task");
    // A worker this client no longer leases (its link closed and the lease went back before the
    // announcement) counts as one that died running the task.
    bool leased = session->leases.count(parsed->direct_worker) != 0;
    status = tasks_->SubmitDirect(std::move(parsed).value(), leased);
  } else if (parsed.ok()) {
    if (parsed->is_actor_call() && cluster_work_ != nullptr &&
        cluster_work_->IsRemoteActor(parsed->actor_id)) {
      cluster_work_->SubmitActorCall(std::move(parsed).value());
    } else {
      status = parsed->is_actor_call() ? actors_->Submit(std::move(parsed).value())
                                       : tasks_->Submit(std::move(parsed).value());
    }
  }
  if (status.ok() && parent_cancelled) return CancelTree(task_id, false, true);
  if (!status.ok() && status.code() != StatusCode::kProtocolError) {
    // A task the node refuses (bad resources, say) fails, like any task, through its results.
    for (uint32_t i = 0; i < spec->num_returns(); ++i) {
      objects_->Seal(ObjectID::ForReturn(task_id, i),
                     SystemErrorValue(SystemErrorCode::kWorkerDied, status.ToString()));
    }
    return Status::OK();
  }
  return status;
}

Status NodeService::HandleCreateActor(Session* session, const wire::CreateActor* create,
                                      std::string_view frame) {
  std::string name = StringOf(create->name());
  std::string ns = StringOf(create->namespace_());
  if (cluster_work_ == nullptr || session->role == wire::Role::Node || name.empty() ||
      actors_->Lookup(ns, name).ok()) {
    return CreateActorNow(session, create, frame);
  }
  // Names are cluster-wide: a name that a live actor on another member has is taken (or, with
  // get_if_exists, that actor is the answer). The frame is kept for the creation after the
  // lookup, which takes a round trip to each member.
  uint64_t session_key = session->key;
  uint64_t request_id = create->request_id();
  bool get_if_exists = create->get_if_exists();
  auto kept = std::make_shared<std::string>(frame);
  cluster_work_->LookupElsewhere(
      ns, name,
      [this, session_key, request_id, get_if_exists, kept, name,
       ns](const StatusOr<ActorManager::ActorInfo>& found) {
        auto it = sessions_.find(session_key);
        if (it == sessions_.end()) return;
        Session* session = it->second.get();
        if (found.ok()) {
          if (get_if_exists) return SendActorReply(session, request_id, found);
          return SendActorReply(
              session, request_id,
              AlreadyExists("The name " + name + " (namespace=" + ns +
                            ") is already taken by an actor on another node of the cluster. "
                            "Please use a different name or get the existing actor using "
                            "ray.get_actor('" +
                            name + "', namespace='" + ns + "')"));
        }
        StatusOr<const wire::Envelope*> envelope = ParseEnvelope(*kept);
        const wire::CreateActor* create =
            envelope.ok() ? (*envelope)->message_as_CreateActor() : nullptr;
        if (create == nullptr) return;  // It was verified when it came.
        Status status = CreateActorNow(session, create, *kept);
        if (!status.ok()) session->connection->Close(status);
      });
  return Status::OK();
}

Status NodeService::CreateActorNow(Session* session, const wire::CreateActor* create,
                                   std::string_view frame) {
  if (cluster_work_ != nullptr && session->role != wire::Role::Node) {
    uint64_t session_key = session->key;
    uint64_t request_id = create->request_id();
    bool elsewhere = cluster_work_->MaybeCreateElsewhere(
        session_key, create, frame,
        [this, session_key, request_id](const StatusOr<ActorManager::ActorInfo>& result) {
          auto it = sessions_.find(session_key);
          if (it != sessions_.end()) SendActorReply(it->second.get(), request_id, result);
        });
    if (elsewhere) return Status::OK();
  }
  if (session->role == wire::Role::Node && create->spec() != nullptr) {
    RAYX_ASSIGN_OR_RETURN(auto contained, UnpackIds<ObjectID>(create->spec()->contained()));
    BorrowFromMember(session, contained);
  }
  StatusOr<ActorManager::ActorInfo> result = actors_->Create(session->key, create);
  if (!result.ok() && result.status().code() == StatusCode::kProtocolError) return result.status();
  SendActorReply(session, create->request_id(), result);
  return Status::OK();
}

Status NodeService::HandleGetActor(Session* session, const wire::GetActor* get) {
  std::string ns = StringOf(get->namespace_()), name = StringOf(get->name());
  StatusOr<ActorManager::ActorInfo> found = actors_->Lookup(ns, name);
  if (!found.ok() && found.status().code() == StatusCode::kNotFound && cluster_work_ != nullptr &&
      session->role != wire::Role::Node) {
    // Names are cluster-wide: the other members are asked in turn.
    uint64_t session_key = session->key;
    uint64_t request_id = get->request_id();
    cluster_work_->LookupElsewhere(
        ns, name, [this, session_key, request_id](const StatusOr<ActorManager::ActorInfo>& result) {
          auto it = sessions_.find(session_key);
          if (it != sessions_.end()) SendActorReply(it->second.get(), request_id, result);
        });
    return Status::OK();
  }
  SendActorReply(session, get->request_id(), found);
  return Status::OK();
}

void NodeService::SendActorReply(Session* session, uint64_t request_id,
                                 const StatusOr<ActorManager::ActorInfo>& result) {
  flatbuffers::FlatBufferBuilder b(128);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> actor_id, meta;
  flatbuffers::Offset<flatbuffers::String> error;
  if (result.ok()) {
    actor_id = b.CreateVector(result->id.data(), ActorID::kSize);
    meta = b.CreateVector(reinterpret_cast<const uint8_t*>(result->handle_meta.data()),
                          result->handle_meta.size());
  } else {
    // The message may repeat a name from the request: cut so that the reply stays small.
    error = b.CreateString(result.status().message().substr(0, kMaxErrorMessageSize));
  }
  session->connection->Send(
      FinishEnvelope(b, wire::CreateActorReply(b, request_id, actor_id, meta, error)));
}

Status NodeService::HandleInfo(Session* session, const wire::InfoRequest* request) {
  flatbuffers::FlatBufferBuilder b(512);
  auto total = ResourcesToWire(b, tasks_->resources().total());
  auto available = ResourcesToWire(b, tasks_->resources().available());
  auto node_id = b.CreateVector(node_id_.data(), NodeID::kSize);
  auto address = b.CreateString(session_dir_);
  std::vector<flatbuffers::Offset<wire::NodeInfo>> nodes = {
      wire::CreateNodeInfo(b, node_id, /*alive=*/true, address, total, available)};
  if (peers_) {
    auto peer_amounts = [&b](const std::map<std::string, double>& m) {
      std::vector<flatbuffers::Offset<wire::ResourceAmount>> out;
      for (const auto& [name, amount] : m) {
        out.push_back(wire::CreateResourceAmount(b, b.CreateString(name), amount));
      }
      return b.CreateVector(out);
    };
    for (const PeerNodeInfo& peer : peers_()) {
      auto id = b.CreateVector(peer.id.data(), NodeID::kSize);
      auto peer_address = b.CreateString(peer.address);
      auto peer_total = peer_amounts(peer.total);
      auto peer_available = peer_amounts(peer.available);
      nodes.push_back(
          wire::CreateNodeInfo(b, id, peer.alive, peer_address, peer_total, peer_available));
    }
  }
  auto reply = wire::CreateInfoReply(b, request->request_id(), b.CreateVector(nodes));
  session->connection->Send(FinishEnvelope(b, reply));
  return Status::OK();
}

Status NodeService::HandleRequestLease(Session* session, const wire::RequestLease* request) {
  StatusOr<ResourceSet> demand = ResourcesFromWire(request->resources());
  uint64_t lease_key = request->lease_key();
  // Refused while replaying, too: every task must pass the node, which reuses logged results.
  // And to a driver over TCP: it cannot reach a worker's Unix socket.
  if (!demand.ok() || !tasks_->resources().IsFeasible(*demand) ||
      (lineage_ && lineage_->replaying()) || session->origin == ClientOrigin::kRemoteDriver) {
    // Refused (no worker): the owner's tasks of this shape keep taking the node's path, where the
    // user hears that no node has it.
    flatbuffers::FlatBufferBuilder b(64);
    session->connection->Send(FinishEnvelope(b, wire::CreateLeaseGranted(b, lease_key)));
    return Status::OK();
  }
  uint64_t session_key = session->key;
  auto granted = [this, session_key, lease_key](Worker* worker, const Allocation& allocation) {
    auto it = sessions_.find(session_key);
    if (it == sessions_.end()) {  // Cannot happen (closing cancels requests); give it back.
      tasks_->LeaseToOwner(worker, allocation, [] {});
      tasks_->ReturnLease(worker, /*worker_idle=*/true);
      return;
    }
    Session* owner = it->second.get();
    owner->lease_requests.erase(lease_key);
    owner->leases.insert(worker->id);
    WorkerID worker_id = worker->id;
    tasks_->LeaseToOwner(worker, allocation, [this, session_key, worker_id] {
      auto s = sessions_.find(session_key);
      if (s == sessions_.end()) return;
      flatbuffers::FlatBufferBuilder b(64);
      auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
      s->second->connection->Send(FinishEnvelope(b, wire::CreateRevokeLease(b, id)));
    });
    flatbuffers::FlatBufferBuilder b(256);
    auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
    auto path = b.CreateString(DirectSocketPath(pool_->node_socket(), worker_id));
    owner->connection->Send(FinishEnvelope(b, wire::CreateLeaseGranted(b, lease_key, id, path)));
  };
  // Recorded first: the lease may be granted (and the record erased) inside Lease.
  session->lease_requests[lease_key] = 0;
  StatusOr<uint64_t> key = tasks_->Lease("lease", *demand, std::move(granted));
  auto pending = session->lease_requests.find(lease_key);
  if (pending == session->lease_requests.end()) return Status::OK();
  if (!key.ok()) {
    // Resources this node does not have: the owner's tasks keep taking the node's path.
    session->lease_requests.erase(pending);
    return Status::OK();
  }
  pending->second = *key;
  return Status::OK();
}

void NodeService::OnClose(Session* session) {
  uint64_t key = session->key;
  std::vector<uint64_t> gets, waits;
  for (auto& [k, get] : gets_) {
    if (get->session_key == key) gets.push_back(k);
  }
  for (auto& [k, wait] : waits_) {
    if (wait->session_key == key) waits.push_back(k);
  }
  auto it = sessions_.find(key);
  std::unique_ptr<Session> owned = std::move(it->second);
  sessions_.erase(it);
  // With the session gone these only cancel their waiters and unpin.
  for (uint64_t k : gets) FinishGet(k, true);
  for (uint64_t k : waits) FinishWait(k);
  for (const ObjectID& id : owned->held) objects_->RemoveHolder(id);
  actors_->OnSessionClosed(key);
  if (placement_groups_ != nullptr) placement_groups_->OnSessionClosed(key);
  if (bundle_host_ != nullptr && owned->role == wire::Role::Node && !owned->member_id.IsNil()) {
    // The member that reserved bundles here through this link let go of them with it.
    bundle_host_->OnCreatorGone(owned->member_id, "the node that created its placement group (" +
                                                      owned->member_id.Hex() + ") is gone");
  }
  if (cluster_work_ != nullptr) cluster_work_->OnSessionClosed(key);
  for (const auto& [id, count] : owned->mapped) {
    for (int64_t i = 0; i < count; ++i) objects_->RemoveMapping(id);
  }
  for (const auto& [lease_key, manager_key] : owned->lease_requests)
    tasks_->CancelLease(manager_key);
  for (const WorkerID& id : owned->leases) {
    Worker* worker = pool_->Find(id);
    if (worker != nullptr) tasks_->ReturnLease(worker, /*worker_idle=*/false);
  }
  if (!owned->worker_id.IsNil()) {
    Worker* worker = pool_->Find(owned->worker_id);
    if (worker != nullptr) pool_->Disconnect(worker);
  }
  actors_->CollectUnreferenced();
}

}  // namespace rayx
