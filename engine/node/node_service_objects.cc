// NodeService's handlers for objects: put, get, wait, reference counts, dropped copies, reads by
// other members, and the store's statistics.
#include <unistd.h>

#include "engine/base/logging.h"
#include "engine/node/get_reply.h"
#include "engine/node/node_service.h"
#include "engine/node/node_service_session.h"
#include "engine/node/wire_values.h"
#include "engine/objects/read_chunk.h"
#include "engine/wire/messages.h"

namespace rayx {

Status NodeService::HandlePut(Session* session, const wire::PutObject* put) {
  const wire::ObjectValue* wire_value = put->value();
  if (wire_value == nullptr) return ProtocolError("PutObject without a value");
  RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(wire_value->object_id()));
  RAYX_ASSIGN_OR_RETURN(StoredValue value, StoredValueFromWire(wire_value));
  if (value.in_shm && session->origin == ClientOrigin::kRemoteDriver) {
    return ProtocolError("a driver over TCP shares no memory with the node: its values are inline");
  }
  if (put->generator_item()) {
    // Held for the generator (the task's return 0) rather than for the worker that put it.
    if (session->role != wire::Role::Worker) return ProtocolError("only a worker streams items");
    if (id.IsPut() || id.Index() == 0) return ProtocolError("a generator item is a return k + 1");
    objects_->SealItem(id, std::move(value));
    if (put->request_id() != 0) {
      uint64_t session_key = session->key;
      uint64_t request_id = put->request_id();
      objects_->OnRoom([this, session_key, request_id, id](Status room) {
        ReplyPut(session_key, request_id, id, room);
      });
    }
    return Status::OK();
  }
  if (put->promotion()) {
    // Sealed only when pending (a freed object stays freed); the worker's report follows.
    if (value.in_shm) return ProtocolError("a promoted result must be inline");
    objects_->Seal(id, std::move(value));
    return Status::OK();
  }
  Hold(session, id);
  BorrowFromMember(session, value.contained);  // Before the seal counts them as held by it.
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
  // An unknown id (freed) counts as ready: a get of it reports it lost. A generator's next item
  // (unknown_pending) is waited for until it is yielded.
  const bool unknown_pending = raw->unknown_pending = wait->unknown_pending();
  auto settled = [this, unknown_pending](const ObjectID& id) {
    return objects_->IsReady(id) || (!unknown_pending && !objects_->Exists(id));
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
    bool settled = objects_->IsReady(id) || (!wait->unknown_pending && !objects_->Exists(id));
    ready.push_back(settled ? 1 : 0);
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
    // lost. A generator's item that a process takes is its holders' from then on.
    if (objects_->Exists(id)) {
      Hold(session, id);
      objects_->TakeItem(id);
    }
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

Status NodeService::HandleFreeObjects(Session* session, const wire::FreeObjects* request) {
  RAYX_ASSIGN_OR_RETURN(auto ids, UnpackIds<ObjectID>(request->ids()));
  uint32_t freed = 0;
  for (const ObjectID& id : ids) {
    if (objects_->Free(id)) freed++;
  }
  flatbuffers::FlatBufferBuilder b(64);
  session->connection->Send(
      FinishEnvelope(b, wire::CreateFreeObjectsReply(b, request->request_id(), freed)));
  return Status::OK();
}

Status NodeService::HandleListObjects(Session* session, const wire::ListObjects* request) {
  std::vector<ObjectEntryInfo> list = objects_->List();
  uint64_t truncated = 0;
  if (list.size() > kMaxObjectListEntries) {
    truncated = list.size() - kMaxObjectListEntries;
    list.resize(kMaxObjectListEntries);
  }
  std::vector<ObjectID> ids;
  std::vector<uint64_t> sizes;
  std::vector<uint8_t> states;
  std::vector<uint32_t> holders, pins, mappings, contained_in;
  for (const ObjectEntryInfo& info : list) {
    ids.push_back(info.id);
    sizes.push_back(info.size);
    states.push_back(static_cast<uint8_t>(info.state));
    holders.push_back(info.holders);
    pins.push_back(info.pins);
    mappings.push_back(info.mappings);
    contained_in.push_back(info.contained_in);
  }
  flatbuffers::FlatBufferBuilder b(128 + list.size() * (ObjectID::kSize + 32));
  auto reply =
      wire::CreateObjectList(b, request->request_id(), PackIds(b, ids), b.CreateVector(sizes),
                             b.CreateVector(states), b.CreateVector(holders), b.CreateVector(pins),
                             b.CreateVector(mappings), b.CreateVector(contained_in), truncated);
  session->connection->Send(FinishEnvelope(b, reply));
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

}  // namespace rayx
