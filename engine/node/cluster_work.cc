#include "engine/node/cluster_work.h"

#include <utility>

#include "engine/base/logging.h"
#include "engine/node/cluster_work_records.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/wire/messages.h"

namespace rayx {

void SendRefCounts(PeerClient* client, const std::vector<ObjectID>& removed,
                   const std::vector<ActorID>& actors_added,
                   const std::vector<ActorID>& actors_removed, const std::vector<ObjectID>& added) {
  if (removed.empty() && actors_added.empty() && actors_removed.empty() && added.empty()) return;
  flatbuffers::FlatBufferBuilder b(64 + (removed.size() + added.size()) * ObjectID::kSize);
  auto a = PackIds(b, added);
  auto r = PackIds(b, removed);
  auto aa = PackIds(b, actors_added);
  auto ar = PackIds(b, actors_removed);
  wire::RefCountUpdateBuilder u(b);
  u.add_added(a);
  u.add_removed(r);
  u.add_actors_added(aa);
  u.add_actors_removed(ar);
  client->Send(FinishEnvelope(b, u.Finish()));
}

ClusterWork::ClusterWork(EventLoop* loop, const NodeID& self, ClusterService* cluster,
                         ObjectTable* objects, TaskManager* tasks, ActorManager* actors,
                         const std::unordered_map<std::string, std::string>* functions)
    : loop_(loop),
      self_(self),
      cluster_(cluster),
      objects_(objects),
      tasks_(tasks),
      actor_manager_(actors),
      functions_(functions) {}

ClusterWork::~ClusterWork() { Close(); }

void ClusterWork::Close() {
  if (closed_) return;
  closed_ = true;
  *alive_ = false;
  for (auto& [id, peer] : peers_) peer->client->Close(Cancelled("node stopping"));
  peers_.clear();
  gets_.clear();
  group_asks_.clear();
  awaiting_bundles_.clear();
  bundle_timer_.reset();
  reads_.clear();
  listings_.clear();
}

// ---- Placement --------------------------------------------------------------------------------

ClusterWork::View* ClusterWork::Usable(const NodeID& id, const ResourceSet& demand) {
  if (dead_.count(id) != 0) return nullptr;
  if (auto lost = lost_until_ms_.find(id); lost != lost_until_ms_.end()) {
    if (loop_->NowMs() < lost->second) return nullptr;
    lost_until_ms_.erase(lost);
  }
  const auto& members = cluster_->peers();
  auto m = members.find(id);
  if (m == members.end() || !m->second.alive) return nullptr;
  View& view = views_[id];
  if (view.heard_ms != m->second.last_heard_ms || view.heard_ms == 0) {
    view.heard_ms = m->second.last_heard_ms;
    StatusOr<ResourceSet> total = ResourceSet::FromDoubles(m->second.total);
    StatusOr<ResourceSet> available = ResourceSet::FromAdvertisedFree(m->second.available);
    view.total = total.ok() ? *total : ResourceSet();
    view.available = available.ok() ? *available : ResourceSet();
  }
  if (!demand.IsSubsetOf(view.total)) return nullptr;
  return &view;
}

StatusOr<NodeID> ClusterWork::Place(const TaskSpec& spec, bool fits_now, bool feasible) {
  const ResourceSet& demand = spec.resources;
  if (!spec.affinity_node.IsNil()) {
    if (spec.affinity_node == self_) {
      if (feasible || !spec.affinity_soft) return NodeID();
    } else if (Usable(spec.affinity_node, demand) != nullptr) {
      return spec.affinity_node;
    } else if (!spec.affinity_soft) {
      return Unavailable("node " + spec.affinity_node.Hex() +
                         " of its NodeAffinitySchedulingStrategy (soft=False) is dead, unknown, or "
                         "lacks " +
                         demand.ToString());
    }
  }
  if (spec.spread) {
    std::vector<NodeID> candidates;
    if (feasible) candidates.push_back(self_);
    for (const auto& [id, member] : cluster_->peers()) {
      if (Usable(id, demand) != nullptr) candidates.push_back(id);
    }
    if (!candidates.empty()) {
      NodeID pick = candidates[spread_next_++ % candidates.size()];
      return pick == self_ ? NodeID() : pick;
    }
  }
  auto refused = refused_.find(spec.task_id);
  if (fits_now) {
    if (refused != refused_.end()) refused_.erase(refused);
    return NodeID();
  }
  for (const auto& [id, member] : cluster_->peers()) {
    if (refused != refused_.end() && refused->second.count(id) != 0) continue;
    View* view = Usable(id, demand);
    if (view != nullptr && demand.IsSubsetOf(view->available)) {
      // Sent on this view, which may be stale: the member may refuse it (OnRefused).
      view->available.Subtract(demand);
      offered_.insert(spec.task_id);
      return id;
    }
  }
  if (refused != refused_.end()) refused_.erase(refused);
  if (feasible) return NodeID();
  for (const auto& [id, member] : cluster_->peers()) {
    if (Usable(id, demand) != nullptr) return id;
  }
  return NodeID();  // No node can run it: it waits here, reported, until one joins.
}

std::string ClusterWork::DescribeMembers() {
  std::string out;
  for (const auto& [id, member] : cluster_->peers()) {
    if (!member.alive || dead_.count(id) != 0) continue;
    StatusOr<ResourceSet> total = ResourceSet::FromDoubles(member.total);
    if (!out.empty()) out += "; ";
    out += "node " + id.Hex().substr(0, 12) + ": " +
           (total.ok() ? total->ToString() : std::string("unknown"));
  }
  return out;
}

// ---- Links to the members ---------------------------------------------------------------------

ClusterWork::Peer* ClusterWork::PeerFor(const NodeID& id) {
  if (closed_ || dead_.count(id) != 0) return nullptr;
  auto it = peers_.find(id);
  if (it != peers_.end()) return it->second.get();
  const auto& members = cluster_->peers();
  auto m = members.find(id);
  if (m == members.end() || !m->second.alive) return nullptr;
  auto peer = std::make_unique<Peer>();
  peer->id = id;
  NodeID node = id;
  peer->client = PeerClient::Connect(
      loop_, m->second.address, self_, cluster_->options().token,
      cluster_->options().auth_timeout_ms,
      [this, node](const wire::Envelope& envelope, std::string_view frame) {
        return OnPeerFrame(node, envelope, frame);
      },
      [this, node](const Status& why) {
        FailPeer(node, "its link closed: " + why.ToString(), /*member_dead=*/false);
      });
  Peer* raw = peer.get();
  peers_[id] = std::move(peer);
  return raw;
}

Status ClusterWork::OnPeerFrame(const NodeID& id, const wire::Envelope& envelope,
                                std::string_view frame) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::OK();
  Peer* peer = it->second.get();
  switch (envelope.message_type()) {
    case wire::Message::GetReply:
      OnGetReply(peer, envelope.message_as_GetReply());
      return Status::OK();
    case wire::Message::ActorReply: {
      if (peer->actor_replies.empty()) return ProtocolError("an ActorReply nobody asked for");
      auto reply = std::move(peer->actor_replies.front());
      peer->actor_replies.pop_front();
      reply(envelope.message_as_ActorReply());
      return Status::OK();
    }
    case wire::Message::SubmitRefused:
      return OnRefused(peer, envelope.message_as_SubmitRefused());
    case wire::Message::NamedActorList: {
      const wire::NamedActorList* list = envelope.message_as_NamedActorList();
      auto pending = listings_.find(list->request_id());
      if (pending == listings_.end() || pending->second.node != id) {
        return ProtocolError("a NamedActorList nobody asked for");
      }
      OnNamedActorList(id, list->request_id(), list);
      return Status::OK();
    }
    case wire::Message::BundleReply:
      if (on_bundle_reply_) on_bundle_reply_(id, envelope.message_as_BundleReply());
      return Status::OK();
    case wire::Message::PlacementGroupReply: {
      auto ask = group_asks_.find(envelope.message_as_PlacementGroupReply()->request_id());
      if (ask == group_asks_.end() || ask->second.node != id) return Status::OK();
      auto done = std::move(ask->second.done);
      group_asks_.erase(ask);
      done(frame);
      return Status::OK();
    }
    case wire::Message::ObjectChunk: {
      const wire::ObjectChunk* chunk = envelope.message_as_ObjectChunk();
      auto read = reads_.find(chunk->request_id());
      if (read == reads_.end() || read->second.node != id) return Status::OK();
      auto done = std::move(read->second.done);
      reads_.erase(read);
      if (chunk->error() != nullptr && chunk->error()->size() != 0) {
        done(Unavailable(chunk->error()->str()));
      } else {
        done(BytesOf(chunk->data()));  // A view into the frame: the puller writes it at once.
      }
      return Status::OK();
    }
    default:
      return Status::OK();  // Welcome, PutReply and the like: nothing to do.
  }
}

void ClusterWork::OnMember(const NodeID& id, bool alive) {
  if (closed_) return;
  if (alive) {
    tasks_->RetryInfeasible();
  } else {
    FailPeer(id, "the member died", /*member_dead=*/true);
  }
}

void ClusterWork::FailPeer(const NodeID& id, const std::string& why, bool member_dead) {
  if (closed_) return;
  const bool newly_dead = member_dead && dead_.insert(id).second;
  if (!newly_dead && peers_.count(id) == 0) return;  // Handled already, or never linked.
  if (!member_dead) lost_until_ms_[id] = loop_->NowMs() + kLostMemberPauseMs;
  std::string reason = "node " + id.Hex() + ": " + why;
  RAYX_LOG(Warning) << "cluster: giving up on " << reason;
  std::unique_ptr<Peer> peer;
  if (auto it = peers_.find(id); it != peers_.end()) {
    peer = std::move(it->second);
    peers_.erase(it);
  }
  views_.erase(id);
  if (on_member_lost_) on_member_lost_(id);
  std::vector<std::function<void(std::string_view)>> asks;
  for (auto it = group_asks_.begin(); it != group_asks_.end();) {
    if (it->second.node != id) {
      ++it;
      continue;
    }
    asks.push_back(std::move(it->second.done));
    it = group_asks_.erase(it);
  }
  for (auto& done : asks) done(std::string_view());
  std::vector<uint64_t> task_keys;
  std::vector<std::unique_ptr<ActorCall>> calls;
  for (auto it = gets_.begin(); it != gets_.end();) {
    if (it->second->node != id) {
      ++it;
      continue;
    }
    if (it->second->call) {
      calls.push_back(std::move(it->second->call));
    } else if (!it->second->borrowed) {  // Borrowed objects are dealt with below.
      task_keys.push_back(it->second->task_key);
    }
    it = gets_.erase(it);
  }
  std::vector<std::function<void(StatusOr<std::string_view>)>> reads;
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.node == id) {
      reads.push_back(std::move(it->second.done));
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<ActorID> lost_actors;
  for (auto& [actor_id, actor] : actors_) {
    if (actor->node == id && !actor->dead) lost_actors.push_back(actor_id);
  }
  if (peer) {
    for (auto& reply : peer->actor_replies) reply(nullptr);
    peer->actor_replies.clear();
    peer->client->Close(Unavailable(reason));
  }
  for (auto& call : calls) FailCall(call.get(), "the actor's " + reason);
  for (const ActorID& actor_id : lost_actors) {
    auto it = actors_.find(actor_id);
    if (it != actors_.end()) RestartOrDie(it->second.get(), "the actor's " + reason);
  }
  for (auto& done : reads) done(Unavailable(reason));
  std::vector<uint64_t> listings;
  for (const auto& [request_id, request] : listings_) {
    if (request.node == id) listings.push_back(request_id);
  }
  for (uint64_t request_id : listings) OnNamedActorList(id, request_id, nullptr);
  for (uint64_t key : task_keys) tasks_->OnRemoteLost(key, why);
  // The objects it owned that this node has no copy of: lost with it (OWNER_DIED) when it died;
  // asked for again when only the link closed (it let go of them for this node).
  for (const ObjectID& object : objects_->LentBy(id)) {
    if (objects_->IsAvailable(object)) continue;
    if (objects_->IsReady(object)) {
      StatusOr<bool> dropped = objects_->DropCopies(object);  // Asked for again when needed.
      if (dropped.ok()) continue;
    }
    if (!objects_->IsReady(object)) RecoverBorrowed(object, id);
  }
  // The objects whose only copy was there: lost, and rebuilt when needed.
  for (const ObjectID& object : objects_->RemoteAt(id)) {
    StatusOr<bool> lost = tasks_->LoseCopies(object);
    if (!lost.ok()) RAYX_LOG(Warning) << "cluster: " << lost.status();
  }
}

// ---- Tasks ------------------------------------------------------------------------------------

std::vector<ObjectID> ClusterWork::SendFunctionAndArguments(Peer* peer, const TaskSpec& spec) {
  if (!spec.function_id.empty() && peer->functions_sent.insert(spec.function_id).second) {
    auto fn = functions_->find(spec.function_id);
    if (fn != functions_->end()) {
      flatbuffers::FlatBufferBuilder b(256 + fn->second.size());
      auto id =
          b.CreateVector(reinterpret_cast<const uint8_t*>(fn->first.data()), fn->first.size());
      auto blob =
          b.CreateVector(reinterpret_cast<const uint8_t*>(fn->second.data()), fn->second.size());
      peer->client->Send(FinishEnvelope(b, wire::CreateExportFunction(b, id, blob)));
    }
  }
  // Inline values travel here; a shared-memory one is named with its location, and the member
  // pulls it when it needs it. One the member holds for this node already is not sent again.
  std::vector<ObjectID> args = spec.dependencies;
  args.insert(args.end(), spec.contained.begin(), spec.contained.end());
  std::vector<ObjectID> sent;
  for (const ObjectID& id : args) {
    const StoredValue* value = objects_->Get(id);
    if (value == nullptr || peer->held.count(id) != 0) continue;
    NodeID where = objects_->Location(id);
    if (where.IsNil()) where = self_;
    flatbuffers::FlatBufferBuilder b(256 + (value->in_shm ? 0 : value->inline_data.size()));
    auto wire_value = StoredValueToWire(b, id, *value, value->in_shm ? &where : nullptr);
    peer->client->Send(FinishEnvelope(b, wire::CreatePutObject(b, wire_value)));
    sent.push_back(id);
  }
  return sent;
}

uint64_t ClusterWork::Forward(Peer* peer, const TaskSpec& spec, std::unique_ptr<PendingGet> pending,
                              bool refusable, uint32_t attempt) {
  pending->sent = SendFunctionAndArguments(peer, spec);
  {
    flatbuffers::FlatBufferBuilder b(512 + spec.args.size());
    auto wire_spec = BuildTaskSpec(b, spec, refusable, attempt);
    peer->client->Send(FinishEnvelope(b, wire::CreateSubmitTask(b, wire_spec)));
  }
  for (uint32_t i = 0; i < spec.num_returns; ++i) {
    pending->returns.push_back(ObjectID::ForReturn(spec.task_id, i));
  }
  uint64_t request_id = next_request_++;
  flatbuffers::FlatBufferBuilder b(128 + pending->returns.size() * ObjectID::kSize);
  auto ids = PackIds(b, pending->returns);
  peer->client->Send(FinishEnvelope(b, wire::CreateGetObjects(b, request_id, ids, -1)));
  pending->node = peer->id;
  gets_[request_id] = std::move(pending);
  return request_id;
}

void ClusterWork::Run(const NodeID& node, uint64_t key, const TaskSpec& spec, uint32_t attempt) {
  const bool refusable = offered_.erase(spec.task_id) != 0;
  Peer* peer = PeerFor(node);
  if (peer == nullptr) {
    std::weak_ptr<bool> alive = alive_;
    loop_->Post([this, alive, key] {
      if (auto a = alive.lock(); a && *a) tasks_->OnRemoteLost(key, "the member is unreachable");
    });
    return;
  }
  auto pending = std::make_unique<PendingGet>();
  pending->task_key = key;
  Forward(peer, spec, std::move(pending), refusable, attempt);
}

Status ClusterWork::OnRefused(Peer* peer, const wire::SubmitRefused* refusal) {
  RAYX_ASSIGN_OR_RETURN(TaskID task_id, UnpackId<TaskID>(refusal->task_id()));
  auto it = gets_.begin();
  for (; it != gets_.end(); ++it) {
    const PendingGet& pending = *it->second;
    if (pending.node == peer->id && !pending.call && !pending.borrowed &&
        !pending.returns.empty() && pending.returns[0].Task() == task_id) {
      break;
    }
  }
  if (it == gets_.end()) return Status::OK();  // Cancelled meanwhile, or not sent there.
  std::unique_ptr<PendingGet> pending = std::move(it->second);
  gets_.erase(it);
  RAYX_LOG(Debug) << "cluster: node " << peer->id.Hex() << " refused task " << task_id.Hex() << ": "
                  << StringOf(refusal->reason());
  // The arguments put there for it go; its returns were never made there (the GetObjects sent
  // with it is answered as lost, to a request that is gone). Until the member's next heartbeat,
  // its view says it has nothing free.
  SendRefCounts(peer->client.get(), pending->sent, {}, {});
  if (auto view = views_.find(peer->id); view != views_.end())
    view->second.available = ResourceSet();
  refused_[task_id].insert(peer->id);
  tasks_->OnRemoteRefused(pending->task_key);
  return Status::OK();
}

void ClusterWork::Cancel(const NodeID& node, const TaskID& task_id, bool force, bool recursive) {
  Peer* peer = PeerFor(node);
  if (peer == nullptr) return;
  flatbuffers::FlatBufferBuilder b(64);
  ObjectID first = ObjectID::ForReturn(task_id, 0);
  auto id = b.CreateVector(first.data(), ObjectID::kSize);
  peer->client->Send(FinishEnvelope(b, wire::CreateCancelTask(b, id, force, recursive)));
}

void ClusterWork::OnGetReply(Peer* peer, const wire::GetReply* reply) {
  auto it = gets_.find(reply->request_id());
  if (it == gets_.end() || it->second->node != peer->id) return;
  PendingGet* pending = it->second.get();
  if (reply->values() != nullptr) {
    for (const wire::ObjectValue* wire_value : *reply->values()) {
      if (pending->results.size() == pending->returns.size()) break;
      StatusOr<StoredValue> value = StoredValueFromWire(wire_value);
      RemoteResult result;
      if (!value.ok()) {
        result.value = SystemErrorValue(SystemErrorCode::kWorkerDied,
                                        "a result from node " + peer->id.Hex() +
                                            " could not be read: " + value.status().ToString());
      } else {
        result.value = std::move(value).value();
        if (result.value.in_shm) result.location = peer->id;
        // References inside it to objects the member owns: borrowed before the value is sealed
        // here (which counts them as held by it) and before the member may let go of it.
        for (const ObjectID& inner : result.value.contained) Borrow(inner, peer->id);
      }
      pending->results.push_back(std::move(result));
    }
  }
  if (pending->results.size() < pending->returns.size()) {
    // A partial reply (the frame limit): ask for the rest under the same request.
    std::vector<ObjectID> rest(pending->returns.begin() + pending->results.size(),
                               pending->returns.end());
    flatbuffers::FlatBufferBuilder b(128 + rest.size() * ObjectID::kSize);
    auto ids = PackIds(b, rest);
    peer->client->Send(FinishEnvelope(b, wire::CreateGetObjects(b, reply->request_id(), ids, -1)));
    return;
  }
  Complete(reply->request_id());
}

void ClusterWork::Complete(uint64_t request_id) {
  auto it = gets_.find(request_id);
  if (it == gets_.end()) return;
  std::unique_ptr<PendingGet> pending = std::move(it->second);
  gets_.erase(it);
  if (pending->borrowed) {
    // The member keeps holding them for this node until they are freed here.
    for (size_t i = 0; i < pending->results.size(); ++i) {
      RemoteResult& result = pending->results[i];
      if (result.location.IsNil()) {
        objects_->Seal(pending->returns[i], std::move(result.value));
      } else {
        objects_->SealRemote(pending->returns[i], std::move(result.value), result.location);
      }
    }
    return;
  }
  Peer* peer = peers_.count(pending->node) ? peers_.at(pending->node).get() : nullptr;
  // The member may let go of what it held for this task alone: the arguments put there and the
  // returns that came inline. Those stored there stay held until this node frees them.
  std::vector<ObjectID> release = pending->sent;
  for (size_t i = 0; i < pending->results.size(); ++i) {
    if (pending->results[i].location.IsNil()) {
      release.push_back(pending->returns[i]);
    } else if (peer != nullptr) {
      peer->held.insert(pending->returns[i]);
    }
  }
  if (peer != nullptr) SendRefCounts(peer->client.get(), release, {}, {});
  if (pending->call) {
    FinishCall(pending->call.get(), std::move(pending->results));
  } else {
    tasks_->OnRemoteDone(pending->task_key, std::move(pending->results));
  }
}

// ---- Objects ----------------------------------------------------------------------------------

void ClusterWork::ReadChunk(const NodeID& from, const ObjectID& id, uint64_t offset,
                            uint32_t length, std::function<void(StatusOr<std::string_view>)> done) {
  Peer* peer = PeerFor(from);
  if (peer == nullptr) {
    std::weak_ptr<bool> alive = alive_;
    std::string who = from.Hex();
    loop_->Post([alive, done = std::move(done), who] {
      if (auto a = alive.lock(); a && *a) done(Unavailable("node " + who + " is not reachable"));
    });
    return;
  }
  uint64_t request_id = next_request_++;
  flatbuffers::FlatBufferBuilder b(96);
  auto object = b.CreateVector(id.data(), ObjectID::kSize);
  peer->client->Send(
      FinishEnvelope(b, wire::CreateReadObject(b, request_id, object, offset, length)));
  reads_[request_id] = PendingRead{from, std::move(done)};
}

void ClusterWork::OnRemoteFreed(const ObjectID& id, const NodeID& location) {
  recoveries_.erase(id);
  auto it = peers_.find(location);
  if (it == peers_.end() || it->second->held.erase(id) == 0) return;
  SendRefCounts(it->second->client.get(), {id}, {}, {});
}

void ClusterWork::Borrow(const ObjectID& id, const NodeID& lender) {
  if (closed_ || objects_->Exists(id)) return;  // This node's own, or borrowed already.
  objects_->CreateBorrowed(id, lender);
  RequestBorrowed(id, lender);
}

void ClusterWork::RequestBorrowed(const ObjectID& id, const NodeID& lender) {
  Peer* peer = PeerFor(lender);
  if (peer == nullptr) {
    const bool dead = dead_.count(lender) != 0;
    objects_->Seal(
        id, SystemErrorValue(dead ? SystemErrorCode::kOwnerDied : SystemErrorCode::kObjectLost,
                             "object " + id.Hex() + " is owned by node " + lender.Hex() +
                                 (dead ? ", which died" : ", which cannot be reached")));
    return;
  }
  // The member holds it for this node from now on (a hold it has already is not counted twice),
  // and answers when the value is there.
  peer->held.insert(id);
  SendRefCounts(peer->client.get(), {}, {}, {}, {id});
  auto pending = std::make_unique<PendingGet>();
  pending->node = lender;
  pending->borrowed = true;
  pending->returns.push_back(id);
  uint64_t request_id = next_request_++;
  flatbuffers::FlatBufferBuilder b(128);
  auto ids = PackIds(b, pending->returns);
  peer->client->Send(FinishEnvelope(b, wire::CreateGetObjects(b, request_id, ids, -1)));
  gets_[request_id] = std::move(pending);
}

void ClusterWork::RecoverBorrowed(const ObjectID& id, const NodeID& lender) {
  if (closed_) return;
  // A lender whose link closed a moment ago is most often dying, which membership declares only a
  // little later: asked now, it would fail again at once, and the object would be lost (after
  // kMaxBorrowRecoveries quick failures) rather than OWNER_DIED. It is asked for once the pause
  // ends, unless the death is declared first.
  if (dead_.count(lender) == 0) {
    auto paused = lost_until_ms_.find(lender);
    const uint64_t now = loop_->NowMs();
    if (paused != lost_until_ms_.end() && now < paused->second) {
      paused_borrowed_[id] = lender;
      if (paused_borrowed_due_ms_ == 0 || paused->second < paused_borrowed_due_ms_) {
        if (paused_borrowed_timer_ == nullptr)
          paused_borrowed_timer_ = std::make_unique<Timer>(loop_);
        paused_borrowed_due_ms_ = paused->second;
        paused_borrowed_timer_->Start(paused->second - now, 0, [this] { RetryPausedBorrowed(); });
      }
      return;
    }
  }
  paused_borrowed_.erase(id);
  // A copy that cannot be read again and again (its fetch keeps failing) is lost at last.
  if (++recoveries_[id] > kMaxBorrowRecoveries) {
    objects_->Seal(id, SystemErrorValue(SystemErrorCode::kObjectLost,
                                        "object " + id.Hex() + ", owned by node " + lender.Hex() +
                                            ", could not be read from there " +
                                            std::to_string(kMaxBorrowRecoveries) + " times"));
    return;
  }
  RequestBorrowed(id, lender);
}

void ClusterWork::RetryPausedBorrowed() {
  paused_borrowed_due_ms_ = 0;
  std::unordered_map<ObjectID, NodeID> paused;
  paused.swap(paused_borrowed_);
  for (const auto& [id, lender] : paused) {
    // Sealed meanwhile (OWNER_DIED when its lender's death was declared) or freed: nothing to do.
    if (!objects_->Exists(id) || objects_->IsReady(id)) continue;
    RecoverBorrowed(id, lender);  // Paused again (and the timer armed) if its pause goes on.
  }
}

}  // namespace rayx
