#include "engine/node/node_service.h"

#include <unistd.h>

#include "engine/base/logging.h"
#include "engine/node/get_reply.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/objects/read_chunk.h"
#include "engine/wire/messages.h"
#include "engine/wire/socket_paths.h"

namespace rayx {

struct NodeService::Session {
  uint64_t key = 0;
  std::shared_ptr<Connection> connection;
  bool greeted = false;
  ClientOrigin origin = ClientOrigin::kLocal;
  wire::Role role = wire::Role::Driver;
  WorkerID worker_id;  // Nil for a driver.
  JobID job_id;
  std::unordered_set<ObjectID> held;
  // Shared-memory objects this client maps, with how many mappings of each.
  std::unordered_map<ObjectID, int64_t> mapped;
  int blocked_calls = 0;
  // Direct submission: workers leased to this client, and its lease requests not granted yet.
  std::unordered_set<WorkerID> leases;
  std::unordered_map<uint64_t, uint64_t> lease_requests;  // Its lease key -> the task manager's.
};

struct NodeService::PendingGet {
  uint64_t session_key = 0;
  uint64_t request_id = 0;
  std::vector<ObjectID> ids;
  std::vector<bool> pinned;  // Per id: known to the node, and pinned for this get.
  size_t remaining = 0;
  std::vector<std::pair<ObjectID, uint64_t>> waiters;
  std::unique_ptr<Timer> timer;
  bool blocking = false;
};

struct NodeService::PendingWait {
  uint64_t session_key = 0;
  uint64_t request_id = 0;
  std::vector<ObjectID> ids;
  size_t ready = 0;
  size_t wanted = 0;
  std::vector<std::pair<ObjectID, uint64_t>> waiters;
  std::unique_ptr<Timer> timer;
  bool blocking = false;
};

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
    case wire::Message::CancelTask: {
      const auto* c = envelope->message_as_CancelTask();
      RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(c->object_id()));
      tasks_->Cancel(id, c->force());
      return Status::OK();
    }
    case wire::Message::InfoRequest:
      return HandleInfo(session, envelope->message_as_InfoRequest());
    case wire::Message::CreateActor:
      return HandleCreateActor(session, envelope->message_as_CreateActor(), frame);
    case wire::Message::GetActor:
      return HandleGetActor(session, envelope->message_as_GetActor());
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
    case wire::Message::DropObjectCopies:
      return HandleDropCopies(session, envelope->message_as_DropObjectCopies());
    case wire::Message::ReadObject:
      return HandleReadObject(session, envelope->message_as_ReadObject());
    case wire::Message::TaskDone: {
      Worker* worker = session->worker_id.IsNil() ? nullptr : pool_->Find(session->worker_id);
      if (worker == nullptr) return ProtocolError("TaskDone from a client that is not a worker");
      if (actors_->OwnsWorker(worker))
        return actors_->OnTaskDone(worker, envelope->message_as_TaskDone());
      return tasks_->OnTaskDone(worker, envelope->message_as_TaskDone(), frame);
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
      return ProtocolError("a worker this node did not start said hello");
    }
  } else if (hello->role() == wire::Role::Driver) {
    session->job_id = JobID::FromInt(next_job_++);
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

Status NodeService::HandleSubmit(Session* session, const wire::SubmitTask* submit) {
  const wire::TaskSpec* spec = submit->spec();
  if (spec == nullptr) return ProtocolError("SubmitTask without a spec");
  RAYX_ASSIGN_OR_RETURN(TaskID task_id, UnpackId<TaskID>(spec->task_id()));
  if (spec->num_returns() > kMaxNumReturns) return ParseTaskSpec(spec).status();  // It says why.
  // The submitter holds the returns from the start; its first RefCountUpdate may come later.
  for (uint32_t i = 0; i < spec->num_returns(); ++i) {
    ObjectID id = ObjectID::ForReturn(task_id, i);
    objects_->CreatePending(id);
    Hold(session, id);
  }
  StatusOr<TaskSpec> parsed = ParseTaskSpec(spec);
  Status status = parsed.status();
  // A member's forwarded task runs here (its owner placed it); it is never sent on.
  if (parsed.ok() && session->role == wire::Role::Node) parsed->from_peer = true;
  if (parsed.ok() && lineage_) {
    if (auto reused = lineage_->Reuse(*parsed)) {  // A replay: the logged results, without running.
      for (uint32_t i = 0; i < reused->size(); ++i)
        objects_->Seal(ObjectID::ForReturn(task_id, i), std::move((*reused)[i]));
      return Status::OK();
    }
    lineage_->Submitted(*parsed, session->role == wire::Role::Driver);
  }
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

Status NodeService::HandlePut(Session* session, const wire::PutObject* put) {
  const wire::ObjectValue* wire_value = put->value();
  if (wire_value == nullptr) return ProtocolError("PutObject without a value");
  RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(wire_value->object_id()));
  RAYX_ASSIGN_OR_RETURN(StoredValue value, StoredValueFromWire(wire_value));
  if (value.in_shm && session->origin == ClientOrigin::kRemoteDriver) {
    return ProtocolError("a driver over TCP shares no memory with the node: its values are inline");
  }
  if (put->promotion()) {
    // Sealed only when pending (a freed object stays freed); the worker's report follows.
    if (value.in_shm) return ProtocolError("a promoted result must be inline");
    objects_->Seal(id, std::move(value));
    return Status::OK();
  }
  Hold(session, id);
  if (wire_value->location() != nullptr && wire_value->location()->size() != 0) {
    // A member names an argument stored on another node: pulled from there when needed. One that
    // is here already (a result stored here) stays as it is.
    if (session->role != wire::Role::Node) return ProtocolError("only a member names locations");
    RAYX_ASSIGN_OR_RETURN(NodeID location, UnpackId<NodeID>(wire_value->location()));
    if (!value.in_shm) return ProtocolError("a located value must be in shared memory");
    if (!objects_->IsReady(id)) {
      if (location == node_id_) return ProtocolError("a value located here that is not here");
      objects_->SealRemote(id, std::move(value), location);
    }
    return Status::OK();
  }
  objects_->Seal(id, std::move(value));
  uint64_t request_id = put->request_id();
  if (request_id != 0) {
    // The reply waits until spilling has made room, which paces a loop of large puts.
    uint64_t session_key = session->key;
    objects_->OnRoom([this, session_key, request_id, id](Status room) {
      ReplyPut(session_key, request_id, id, room);
    });
  }
  return Status::OK();
}

void NodeService::ReplyPut(uint64_t session_key, uint64_t request_id, const ObjectID& id,
                           const Status& room) {
  auto it = sessions_.find(session_key);
  if (it == sessions_.end()) return;
  Session* session = it->second.get();
  std::string error;
  if (!room.ok()) {
    // The put fails: the client gets no reference, so the node lets the object go.
    error = SystemErrorText(SystemErrorCode::kObjectStoreFull, room.message());
    if (session->held.erase(id) != 0) objects_->RemoveHolder(id);
  }
  flatbuffers::FlatBufferBuilder b(128 + error.size());
  auto text = b.CreateString(error);
  session->connection->Send(FinishEnvelope(b, wire::CreatePutReply(b, request_id, text)));
}

StoredValue NodeService::InlineCopy(const ObjectID& id, const StoredValue& value) {
  if (value.shm_size > kMaxInlineValueSize) {
    return SystemErrorValue(
        SystemErrorCode::kObjectTooLarge,
        "object " + id.Hex() + " is " + std::to_string(value.shm_size) + " bytes, over the " +
            std::to_string(kMaxInlineValueSize) +
            " bytes (64 MiB) that a driver attached over TCP can receive: values reach it "
            "inline. A driver on the member's machine (attached through its Unix socket) has "
            "no such limit");
  }
  // A blocking read of up to 64 MiB on the loop thread (read_chunk.h); the object is pinned by
  // the get.
  StatusOr<ObjectChunkData> chunk =
      ReadObjectChunk(*objects_, id, 0, static_cast<uint32_t>(value.shm_size), kMaxInlineValueSize);
  if (!chunk.ok() || chunk->data.size() != value.shm_size) {
    return SystemErrorValue(SystemErrorCode::kObjectLost,
                            "object " + id.Hex() + " could not be read for a driver over TCP: " +
                                (chunk.ok() ? "short read" : chunk.status().ToString()));
  }
  StoredValue copy;
  copy.kind = value.kind;
  copy.inline_data = std::move(chunk->data);
  copy.contained = value.contained;
  copy.contained_actors = value.contained_actors;
  return copy;
}

void NodeService::SetBlocked(Session* session, int delta) {
  if (session->worker_id.IsNil()) return;
  Worker* worker = pool_->Find(session->worker_id);
  int before = session->blocked_calls;
  session->blocked_calls += delta;
  if (worker == nullptr) return;
  if (before == 0 && session->blocked_calls > 0) tasks_->OnWorkerBlocked(worker);
  if (before > 0 && session->blocked_calls == 0) tasks_->OnWorkerUnblocked(worker);
}

Status NodeService::HandleGet(Session* session, const wire::GetObjects* get) {
  auto pending = std::make_unique<PendingGet>();
  pending->session_key = session->key;
  pending->request_id = get->request_id();
  RAYX_ASSIGN_OR_RETURN(pending->ids, UnpackIds<ObjectID>(get->ids()));
  uint64_t key = next_pending_++;
  PendingGet* raw = pending.get();
  gets_.emplace(key, std::move(pending));
  // An id the node does not know was freed (its holders are gone): it is answered at once as
  // lost rather than waited for in vain.
  for (const ObjectID& id : raw->ids) {
    raw->pinned.push_back(objects_->Exists(id));
    if (raw->pinned.back()) objects_->Pin(id);
  }
  raw->remaining = raw->ids.size() + 1;
  for (size_t i = 0; i < raw->ids.size(); ++i) {
    const ObjectID& id = raw->ids[i];
    if (!raw->pinned[i] || objects_->IsAvailable(id)) {
      raw->remaining--;
      continue;
    }
    // Waits for the value, and restores it first if it was spilled.
    uint64_t handle = objects_->OnAvailable(id, [this, key] {
      auto it = gets_.find(key);
      if (it != gets_.end() && --it->second->remaining == 0) FinishGet(key, false);
    });
    raw->waiters.emplace_back(id, handle);
  }
  if (--raw->remaining == 0) {
    FinishGet(key, false);
    return Status::OK();
  }
  raw->blocking = true;
  SetBlocked(session, +1);
  if (get->timeout_ms() >= 0) {
    raw->timer = std::make_unique<Timer>(loop_);
    raw->timer->Start(static_cast<uint64_t>(get->timeout_ms()), 0,
                      [this, key] { FinishGet(key, true); });
  }
  return Status::OK();
}

void NodeService::FinishGet(uint64_t key, bool timed_out) {
  auto it = gets_.find(key);
  if (it == gets_.end()) return;
  std::unique_ptr<PendingGet> get = std::move(it->second);
  gets_.erase(it);
  for (auto& [id, handle] : get->waiters) objects_->CancelWaiter(id, handle);
  auto session_it = sessions_.find(get->session_key);
  if (session_it != sessions_.end()) {
    Session* session = session_it->second.get();
    if (get->blocking) SetBlocked(session, -1);
    std::vector<const StoredValue*> values;
    // Values made here: lost, too large or read for a remote driver, at most one per id.
    // Reserved: values points into it.
    std::vector<StoredValue> lost;
    const bool remote = session->origin == ClientOrigin::kRemoteDriver;
    size_t n = 0;
    if (!timed_out) {
      lost.reserve(get->ids.size());
      for (const ObjectID& id : get->ids) {
        const StoredValue* value = objects_->Get(id);
        if (value == nullptr || (value->in_shm && !objects_->IsAvailable(id))) {
          lost.push_back(
              SystemErrorValue(SystemErrorCode::kObjectLost, "object " + id.Hex() + " was lost"));
          value = &lost.back();
        }
        if (remote && value->in_shm && value->shm_size > kMaxInlineValueSize) {
          lost.push_back(InlineCopy(id, *value));  // The error that says why.
          value = &lost.back();
        }
        values.push_back(value);
      }
      // A prefix within the frame limit; the client asks again for the rest (get_reply.h). A
      // remote driver's shared-memory values come inline: their bytes count.
      n = GetReplyPrefix(values, kGetReplyBudget, /*shm_inline=*/remote);
      for (size_t i = 0; remote && i < n; ++i) {
        if (!values[i]->in_shm) continue;
        lost.push_back(InlineCopy(get->ids[i], *values[i]));
        values[i] = &lost.back();
      }
    } else {
      values.assign(get->ids.size(), nullptr);
    }
    for (size_t i = 0; i < n; ++i) {
      const ObjectID& id = get->ids[i];
      // A member does not map the file: it pulls the bytes (ReadObject), pinning as it reads.
      if (values[i]->in_shm && session->role != wire::Role::Node) {
        // The client maps the file as it reads this reply: counted from now, so the object
        // cannot be spilled between the reply and the mapping. The client reports the unmap.
        session->mapped[id]++;
        objects_->AddMapping(id);
        objects_->Touch(id);
      }
    }
    flatbuffers::FlatBufferBuilder b(256);
    session->connection->Send(BuildGetReply(b, get->request_id, timed_out, get->ids, values, n));
  }
  for (size_t i = 0; i < get->ids.size(); ++i) {
    if (get->pinned[i]) objects_->Unpin(get->ids[i]);
  }
}

Status NodeService::HandleWait(Session* session, const wire::WaitObjects* wait) {
  auto pending = std::make_unique<PendingWait>();
  pending->session_key = session->key;
  pending->request_id = wait->request_id();
  RAYX_ASSIGN_OR_RETURN(pending->ids, UnpackIds<ObjectID>(wait->ids()));
  pending->wanted = std::min<size_t>(wait->num_returns(), pending->ids.size());
  uint64_t key = next_pending_++;
  PendingWait* raw = pending.get();
  waits_.emplace(key, std::move(pending));
  // An unknown id (freed) counts as ready: a get of it reports it lost.
  auto settled = [this](const ObjectID& id) {
    return !objects_->Exists(id) || objects_->IsReady(id);
  };
  for (const ObjectID& id : raw->ids) {
    if (settled(id)) raw->ready++;
  }
  if (raw->ready >= raw->wanted || wait->timeout_ms() == 0) {
    FinishWait(key);
    return Status::OK();
  }
  for (const ObjectID& id : raw->ids) {
    if (settled(id)) continue;
    uint64_t handle = objects_->OnReady(id, [this, key] {
      auto it = waits_.find(key);
      if (it != waits_.end() && ++it->second->ready >= it->second->wanted) FinishWait(key);
    });
    // Waiting on a lost object rebuilds it, which may settle it (as an error) at once.
    if (waits_.count(key) == 0) return Status::OK();
    raw->waiters.emplace_back(id, handle);
  }
  raw->blocking = true;
  SetBlocked(session, +1);
  if (wait->timeout_ms() > 0) {
    raw->timer = std::make_unique<Timer>(loop_);
    raw->timer->Start(static_cast<uint64_t>(wait->timeout_ms()), 0,
                      [this, key] { FinishWait(key); });
  }
  return Status::OK();
}

void NodeService::FinishWait(uint64_t key) {
  auto it = waits_.find(key);
  if (it == waits_.end()) return;
  std::unique_ptr<PendingWait> wait = std::move(it->second);
  waits_.erase(it);
  for (auto& [id, handle] : wait->waiters) objects_->CancelWaiter(id, handle);
  auto session_it = sessions_.find(wait->session_key);
  if (session_it == sessions_.end()) return;
  Session* session = session_it->second.get();
  if (wait->blocking) SetBlocked(session, -1);
  flatbuffers::FlatBufferBuilder b(128);
  std::vector<uint8_t> ready;
  for (const ObjectID& id : wait->ids) {
    ready.push_back(!objects_->Exists(id) || objects_->IsReady(id) ? 1 : 0);
  }
  auto flags = b.CreateVector(ready);
  session->connection->Send(FinishEnvelope(b, wire::CreateWaitReply(b, wait->request_id, flags)));
}

Status NodeService::HandleRefCounts(Session* session, const wire::RefCountUpdate* update) {
  RAYX_ASSIGN_OR_RETURN(auto added, UnpackIds<ObjectID>(update->added()));
  RAYX_ASSIGN_OR_RETURN(auto removed, UnpackIds<ObjectID>(update->removed()));
  for (const ObjectID& id : added) {
    // An id the node no longer knows was freed before this add arrived (the process let go of
    // it and then rebuilt a reference from its bytes): holding it would create an entry that
    // no value ever fills, and a get would wait for ever. It stays unknown, so a get reports it
    // lost.
    if (objects_->Exists(id)) Hold(session, id);
  }
  for (const ObjectID& id : removed) {
    if (session->held.erase(id) != 0) objects_->RemoveHolder(id);
  }
  RAYX_ASSIGN_OR_RETURN(auto actors_added, UnpackIds<ActorID>(update->actors_added()));
  RAYX_ASSIGN_OR_RETURN(auto actors_removed, UnpackIds<ActorID>(update->actors_removed()));
  for (const ActorID& id : actors_added) {
    if (cluster_work_ != nullptr && cluster_work_->IsRemoteActor(id)) {
      cluster_work_->AddActorHolder(session->key, id);
    } else {
      actors_->AddHolder(session->key, id);
    }
  }
  for (const ActorID& id : actors_removed) {
    if (cluster_work_ != nullptr && cluster_work_->IsRemoteActor(id)) {
      cluster_work_->RemoveActorHolder(session->key, id);
    } else {
      actors_->RemoveHolder(session->key, id);
    }
  }
  RAYX_ASSIGN_OR_RETURN(auto mapped, UnpackIds<ObjectID>(update->mapped()));
  RAYX_ASSIGN_OR_RETURN(auto unmapped, UnpackIds<ObjectID>(update->unmapped()));
  if (session->origin == ClientOrigin::kRemoteDriver && (!mapped.empty() || !unmapped.empty())) {
    return ProtocolError("a driver over TCP maps no shared memory");
  }
  for (const ObjectID& id : mapped) {
    session->mapped[id]++;
    objects_->AddMapping(id);
  }
  for (const ObjectID& id : unmapped) {
    auto it = session->mapped.find(id);
    if (it == session->mapped.end()) continue;  // Not a mapping this client has: ignored.
    if (--it->second == 0) session->mapped.erase(it);
    objects_->RemoveMapping(id);
  }
  return Status::OK();
}

Status NodeService::HandleDropCopies(Session* session, const wire::DropObjectCopies* drop) {
  RAYX_ASSIGN_OR_RETURN(auto ids, UnpackIds<ObjectID>(drop->ids()));
  uint32_t dropped = 0;
  std::string error;
  for (const ObjectID& id : ids) {
    StatusOr<bool> done = tasks_->LoseCopies(id);
    if (!done.ok()) {
      error = done.status().ToString();
      break;
    }
    if (*done) dropped++;
  }
  flatbuffers::FlatBufferBuilder b(128);
  auto text = b.CreateString(error);
  session->connection->Send(
      FinishEnvelope(b, wire::CreateDropObjectCopiesReply(b, drop->request_id(), dropped, text)));
  return Status::OK();
}

Status NodeService::HandleReadObject(Session* session, const wire::ReadObject* read) {
  RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(read->object_id()));
  // A blocking pread of up to kMaxReadChunk bytes on the loop thread (read_chunk.h).
  // The bytes are read straight into the reply being built, whose buffer is kept for the next.
  flatbuffers::FlatBufferBuilder& b = chunk_builder_;
  b.Clear();
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
  StatusOr<uint64_t> total = ReadObjectChunkInto(*objects_, id, read->offset(), read->length(),
                                                 kMaxReadChunk, [&b, &data](size_t n) {
                                                   uint8_t* out = nullptr;
                                                   data = b.CreateUninitializedVector(n, &out);
                                                   return reinterpret_cast<char*>(out);
                                                 });
  if (!total.ok()) {
    b.Clear();
    auto error = b.CreateString(total.status().ToString());
    session->connection->Send(FinishEnvelope(
        b, wire::CreateObjectChunk(b, read->request_id(), /*data=*/0, /*total_size=*/0, error)));
  } else {
    session->connection->Send(
        FinishEnvelope(b, wire::CreateObjectChunk(b, read->request_id(), data, *total)));
  }
  return Status::OK();
}

Status NodeService::HandleStats(Session* session, const wire::ObjectStoreStatsRequest* request) {
  ObjectStoreStats stats = objects_->Stats();
  flatbuffers::FlatBufferBuilder b(256);
  auto store_dir = b.CreateString(session_dir_);
  auto spill_dir = b.CreateString(objects_->spill_dir());
  wire::ObjectStoreStatsReplyBuilder r(b);
  r.add_request_id(request->request_id());
  r.add_capacity(stats.capacity);
  r.add_used(stats.shm_bytes);
  r.add_num_objects(stats.num_objects);
  r.add_num_in_memory(stats.num_in_memory);
  r.add_num_spilled(stats.num_spilled);
  r.add_spilled_bytes(stats.spilled_bytes);
  r.add_spill_count(stats.spill_count);
  r.add_spill_bytes_total(stats.spill_bytes_total);
  r.add_restore_count(stats.restore_count);
  r.add_restore_bytes_total(stats.restore_bytes_total);
  r.add_store_dir(store_dir);
  r.add_spill_dir(spill_dir);
  r.add_lineage_tasks(tasks_->num_lineage());
  r.add_rebuilt_tasks(tasks_->num_rebuilt());
  session->connection->Send(FinishEnvelope(b, r.Finish()));
  return Status::OK();
}

Status NodeService::HandleCreateActor(Session* session, const wire::CreateActor* create,
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
  auto amounts = [&b](const ResourceSet& set) {
    std::vector<flatbuffers::Offset<wire::ResourceAmount>> out;
    for (const auto& [name, amount] : set.ToDoubles()) {
      out.push_back(wire::CreateResourceAmount(b, b.CreateString(name), amount));
    }
    return b.CreateVector(out);
  };
  auto total = amounts(tasks_->resources().total());
  auto available = amounts(tasks_->resources().available());
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
