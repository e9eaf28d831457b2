// ClusterWork's actors on other members: placing and creating them, restarting them when their
// member dies, name lookups, their calls in order, handles and kills (cluster_work.h).
#include <utility>

#include "engine/base/logging.h"
#include "engine/node/cluster_work.h"
#include "engine/node/cluster_work_records.h"
#include "engine/node/task_spec.h"
#include "engine/node/wire_values.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

// Whether demand places the actor in a placement group's bundle (placement_group_resources.h:
// every such demand asks for a bundle_group_* marker).
bool NamesABundle(const ResourceSet& demand) {
  for (const auto& [name, units] : demand.units()) {
    if (name.rfind("bundle_group_", 0) == 0) return true;
  }
  return false;
}

}  // namespace

// ---- Actors -----------------------------------------------------------------------------------

NodeID ClusterWork::ChooseForActor(const ResourceSet& demand, bool* here) {
  *here = false;
  NodeID any;
  for (const auto& [id, member] : cluster_->peers()) {
    View* view = Usable(id, demand);
    if (view == nullptr) continue;
    if (demand.IsSubsetOf(view->available)) return id;
    if (any.IsNil()) any = id;
  }
  if (tasks_->resources().IsFeasible(demand)) {
    *here = true;
    return NodeID();
  }
  return any;
}

void ClusterWork::SendCreate(Peer* peer, const TaskSpec& spec, std::string_view frame,
                             std::function<void(const wire::ActorReply*)> on_reply) {
  // The constructor's function and arguments go first; the member releases the arguments once it
  // answered (the actor holds what it needs from then on).
  std::vector<ObjectID> sent = SendFunctionAndArguments(peer, spec);
  peer->client->Send(frame);
  NodeID node = peer->id;
  peer->actor_replies.push_back(
      [this, node, sent, on_reply = std::move(on_reply)](const wire::ActorReply* answer) {
        auto peer_it = peers_.find(node);
        if (answer != nullptr && peer_it != peers_.end()) {
          SendRefCounts(peer_it->second->client.get(), sent, {}, {});
        }
        on_reply(answer);
      });
}

bool ClusterWork::MaybeCreateElsewhere(uint64_t session, const wire::CreateActor* create,
                                       std::string_view frame, ActorReplyFn reply) {
  const wire::TaskSpec* wire_spec = create->spec();
  if (wire_spec == nullptr) return false;
  StatusOr<TaskSpec> spec = ParseTaskSpec(wire_spec);
  if (!spec.ok()) return false;
  const ResourceSet& demand = spec->resources;
  NodeID target;
  if (!spec->affinity_node.IsNil() && spec->affinity_node != self_) {
    if (Usable(spec->affinity_node, demand) != nullptr) {
      target = spec->affinity_node;
    } else if (!spec->affinity_soft) {
      reply(Unavailable("node " + spec->affinity_node.Hex() +
                        " of the actor's NodeAffinitySchedulingStrategy (soft=False) is dead, "
                        "unknown, or lacks " +
                        demand.ToString()));
      return true;
    }
  }
  if (target.IsNil()) {
    if (spec->affinity_node == self_ || tasks_->resources().IsFeasible(demand)) return false;
    bool here = false;
    target = ChooseForActor(demand, &here);
    if (target.IsNil()) return false;  // No member has it either: here, where it is reported.
  }
  Peer* peer = PeerFor(target);
  if (peer == nullptr) return false;
  auto record = std::make_unique<RemoteActor>();
  record->detached = create->detached();
  record->creator = session;
  record->create_frame = std::string(frame);
  record->demand = demand;
  record->restarts_left = std::max(-1, create->max_restarts());
  record->create_spec = *spec;
  SendCreate(
      peer, *spec, frame,
      [this, node = target, record = std::shared_ptr<RemoteActor>(std::move(record)),
       reply = std::move(reply)](const wire::ActorReply* answer) mutable {
        if (answer == nullptr) {
          reply(Unavailable("node " + node.Hex() + ", where the actor was to be created, died"));
          return;
        }
        if (answer->error() != nullptr && answer->error()->size() != 0) {
          reply(FailedPrecondition(answer->error()->str()));
          return;
        }
        StatusOr<ActorID> id = UnpackId<ActorID>(answer->actor_id());
        if (!id.ok()) {
          reply(id.status());
          return;
        }
        auto& actor = actors_[*id];
        if (!actor) actor = std::make_unique<RemoteActor>(std::move(*record));
        actor->id = *id;
        actor->node = node;
        actor->holders.insert(actor->creator);
        actor->held_there = true;  // The member counts its creator (this node) as holder.
        if (actor->restarts_left != 0) {
          // Kept for a restart elsewhere.
          for (const auto* ids :
               {&actor->create_spec.dependencies, &actor->create_spec.contained}) {
            for (const ObjectID& arg : *ids) {
              if (!objects_->Exists(arg)) continue;
              objects_->Pin(arg);
              actor->pinned_args.push_back(arg);
            }
          }
        }
        ActorManager::ActorInfo info;
        info.id = *id;
        info.handle_meta = std::string(BytesOf(answer->handle_meta()));
        RAYX_LOG(Info) << "cluster: actor " << id->Hex() << " placed on node " << node.Hex();
        reply(info);
      });
  return true;
}

void ClusterWork::RestartOrDie(RemoteActor* actor, const std::string& why) {
  auto die = [this, actor](const std::string& death) {
    actor->dead = true;
    actor->restarting = false;
    actor->death = death;
    for (const ObjectID& arg : actor->pinned_args) objects_->Unpin(arg);
    actor->pinned_args.clear();
    PumpActor(actor->id);  // Fails the queued calls.
  };
  if (actor->restarts_left == 0 || actor->create_frame.empty()) return die(why);
  if (actor->restarts_left > 0) actor->restarts_left--;
  bool here = false;
  NodeID target = ChooseForActor(actor->demand, &here);
  RAYX_LOG(Warning) << "cluster: " << why << "; restarting actor " << actor->id.Hex() << " on "
                    << (here             ? std::string("this node")
                        : target.IsNil() ? "no node"
                                         : target.Hex());
  if (here && actor_manager_ != nullptr) {
    // This node holds it from now on: the ActorManager takes it and the calls that wait.
    StatusOr<const wire::Envelope*> envelope = ParseEnvelope(actor->create_frame);
    if (!envelope.ok() || (*envelope)->message_as_CreateActor() == nullptr) return die(why);
    StatusOr<ActorManager::ActorInfo> created =
        actor_manager_->Create(actor->creator, (*envelope)->message_as_CreateActor());
    if (!created.ok())
      return die(why + "; restarting it here failed: " + created.status().ToString());
    for (uint64_t session : actor->holders) {
      if (session != actor->creator) actor_manager_->AddHolder(session, actor->id);
    }
    std::deque<std::unique_ptr<ActorCall>> queued = std::move(actor->queued);
    std::vector<ObjectID> pinned = std::move(actor->pinned_args);
    ActorID id = actor->id;
    actors_.erase(id);  // actor is gone from here on.
    for (auto& call : queued) {
      Status s = actor_manager_->Submit(call->spec);
      if (!s.ok()) RAYX_LOG(Warning) << "cluster: " << s;
      for (const ObjectID& arg : call->pinned) objects_->Unpin(arg);
    }
    for (const ObjectID& arg : pinned) objects_->Unpin(arg);
    return;
  }
  if (target.IsNil() && NamesABundle(actor->demand)) {
    const uint64_t now = loop_->NowMs();
    if (actor->bundle_deadline_ms == 0) actor->bundle_deadline_ms = now + kBundleWaitMs;
    if (now < actor->bundle_deadline_ms) {
      if (actor->restarts_left >= 0) actor->restarts_left++;  // Waiting is not a restart.
      actor->restarting = true;                               // Its calls queue meanwhile.
      awaiting_bundles_.emplace_back(actor->id, why);
      if (!bundle_timer_) {
        bundle_timer_ = std::make_unique<Timer>(loop_);
        bundle_timer_->Start(kBundleRetryMs, kBundleRetryMs, [this] { RetryAwaitingBundles(); });
      }
      return;
    }
  }
  actor->bundle_deadline_ms = 0;
  Peer* peer = target.IsNil() ? nullptr : PeerFor(target);
  if (peer == nullptr) return die(why + ", and no live node can hold it");
  actor->restarting = true;
  actor->node = target;
  actor->held_there = false;
  ActorID id = actor->id;
  SendCreate(peer, actor->create_spec, actor->create_frame,
             [this, id, why](const wire::ActorReply* answer) {
               auto it = actors_.find(id);
               if (it == actors_.end()) return;
               RemoteActor* a = it->second.get();
               if (answer == nullptr || (answer->error() != nullptr && answer->error()->size())) {
                 a->restarting = false;
                 a->dead = true;
                 a->death = why + "; restarting it failed";
                 PumpActor(id);
                 return;
               }
               a->restarting = false;
               a->held_there = true;
               PumpActor(id);
             });
}

void ClusterWork::RetryAwaitingBundles() {
  std::vector<std::pair<ActorID, std::string>> waiting;
  waiting.swap(awaiting_bundles_);
  for (auto& [id, why] : waiting) {
    auto it = actors_.find(id);
    if (it == actors_.end() || it->second->dead) continue;
    it->second->restarting = false;
    RestartOrDie(it->second.get(), why);  // Queues it again while its bundle is not back.
  }
  // Destroying the timer from its own callback is safe (Timer keeps the running function alive).
  if (awaiting_bundles_.empty()) bundle_timer_.reset();
}

void ClusterWork::LookupElsewhere(const std::string& ns, const std::string& name,
                                  ActorReplyFn reply) {
  auto lookup = std::make_shared<Lookup>();
  lookup->ns = ns;
  lookup->name = name;
  lookup->reply = std::move(reply);
  lookup->not_found = NotFound("Failed to look up actor with name '" + name + "'" +
                               (ns.empty() ? std::string() : " in namespace '" + ns + "'") +
                               " on any node of the cluster");
  for (const auto& [id, member] : cluster_->peers()) {
    if (member.alive && dead_.count(id) == 0) lookup->left.push_back(id);
  }
  LookupNext(std::move(lookup));
}

void ClusterWork::LookupNext(std::shared_ptr<Lookup> lookup) {
  while (!lookup->left.empty()) {
    NodeID node = lookup->left.back();
    lookup->left.pop_back();
    Peer* peer = PeerFor(node);
    if (peer == nullptr) continue;
    flatbuffers::FlatBufferBuilder b(128);
    auto name = b.CreateString(lookup->name);
    auto ns = b.CreateString(lookup->ns);
    peer->client->Send(FinishEnvelope(b, wire::CreateGetActor(b, 0, name, ns)));
    peer->actor_replies.push_back([this, lookup, node](const wire::ActorReply* answer) {
      if (answer == nullptr || (answer->error() != nullptr && answer->error()->size() != 0)) {
        LookupNext(lookup);
        return;
      }
      StatusOr<ActorID> id = UnpackId<ActorID>(answer->actor_id());
      if (!id.ok()) {
        LookupNext(lookup);
        return;
      }
      auto& actor = actors_[*id];
      if (!actor) {
        actor = std::make_unique<RemoteActor>();
        actor->id = *id;
        actor->node = node;
        actor->detached = true;  // Its creator decides its life, not this node's handles.
      }
      ActorManager::ActorInfo info;
      info.id = *id;
      info.handle_meta = std::string(BytesOf(answer->handle_meta()));
      lookup->reply(info);
    });
    return;
  }
  lookup->reply(lookup->not_found);
}

void ClusterWork::SubmitActorCall(TaskSpec spec) {
  auto it = actors_.find(spec.actor_id);
  if (it == actors_.end()) return;
  if (spec.streaming) {
    // Its items would be streamed to the actor's node, while the caller waits for them here.
    ActorCall refused;
    refused.spec = std::move(spec);
    std::vector<RemoteResult> results(1);
    results[0].value = SystemErrorValue(
        SystemErrorCode::kUnschedulable,
        "the generator method " + refused.spec.name +
            " cannot be called on an actor that lives on another member of the cluster yet: "
            "generator items stream to the node of the caller only (see rayx's README)");
    FinishCall(&refused, std::move(results));
    return;
  }
  auto call = std::make_unique<ActorCall>();
  for (const auto* ids : {&spec.dependencies, &spec.contained}) {
    for (const ObjectID& id : *ids) {
      if (!objects_->Exists(id)) continue;
      objects_->Pin(id);
      call->pinned.push_back(id);
    }
  }
  call->spec = std::move(spec);
  ActorID id = call->spec.actor_id;
  it->second->queued.push_back(std::move(call));
  PumpActor(id);
}

void ClusterWork::PumpActor(const ActorID& id) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  RemoteActor* actor = it->second.get();
  while (!actor->queued.empty() && !actor->waiting && !actor->restarting) {
    ActorCall* call = actor->queued.front().get();
    if (actor->dead) {
      std::unique_ptr<ActorCall> failed = std::move(actor->queued.front());
      actor->queued.pop_front();
      FailCall(failed.get(), actor->death);
      continue;
    }
    // The calls go in the order made: one whose argument is not here yet holds back the rest.
    for (const ObjectID& dep : call->spec.dependencies) {
      if (!objects_->Exists(dep) || objects_->IsAvailable(dep)) continue;
      actor->waiting = true;
      objects_->OnAvailable(dep, [this, id] {
        auto a = actors_.find(id);
        if (a == actors_.end()) return;
        a->second->waiting = false;
        PumpActor(id);
      });
      return;
    }
    Peer* peer = PeerFor(actor->node);
    if (peer == nullptr) {
      actor->dead = true;
      actor->death = "the actor's node " + actor->node.Hex() + " is gone";
      continue;
    }
    auto pending = std::make_unique<PendingGet>();
    pending->call = std::move(actor->queued.front());
    actor->queued.pop_front();
    TaskSpec spec = pending->call->spec;
    Forward(peer, spec, std::move(pending));
  }
}

void ClusterWork::FailCall(ActorCall* call, const std::string& why) {
  std::vector<RemoteResult> results(1);
  results[0].value = SystemErrorValue(SystemErrorCode::kActorDied, why);
  FinishCall(call, std::move(results));
}

void ClusterWork::FinishCall(ActorCall* call, std::vector<RemoteResult> results) {
  const TaskSpec& spec = call->spec;
  for (uint32_t i = 0; i < spec.num_returns; ++i) {
    ObjectID id = ObjectID::ForReturn(spec.task_id, i);
    // One error value stands for every return.
    RemoteResult& result = results.size() == spec.num_returns ? results[i] : results[0];
    if (result.location.IsNil()) {
      objects_->Seal(id, result.value);
    } else {
      objects_->SealRemote(id, result.value, result.location);
    }
  }
  for (const ObjectID& id : call->pinned) objects_->Unpin(id);
  call->pinned.clear();
}

void ClusterWork::KillActor(const ActorID& id, bool no_restart) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  Peer* peer = PeerFor(it->second->node);
  if (peer == nullptr) return;
  flatbuffers::FlatBufferBuilder b(64);
  auto actor = b.CreateVector(id.data(), ActorID::kSize);
  peer->client->Send(FinishEnvelope(b, wire::CreateKillActor(b, actor, no_restart)));
}

void ClusterWork::AddActorHolder(uint64_t session, const ActorID& id) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  RemoteActor* actor = it->second.get();
  actor->holders.insert(session);
  if (actor->held_there || actor->dead) return;
  Peer* peer = PeerFor(actor->node);
  if (peer == nullptr) return;
  actor->held_there = true;
  SendRefCounts(peer->client.get(), {}, {id}, {});
}

void ClusterWork::RemoveActorHolder(uint64_t session, const ActorID& id) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  RemoteActor* actor = it->second.get();
  if (actor->holders.erase(session) == 0 || !actor->holders.empty() || !actor->held_there) return;
  actor->held_there = false;
  auto peer = peers_.find(actor->node);
  if (peer != peers_.end()) SendRefCounts(peer->second->client.get(), {}, {}, {id});
}

void ClusterWork::OnSessionClosed(uint64_t session) {
  std::vector<ActorID> held;
  for (const auto& [id, actor] : actors_) {
    if (actor->holders.count(session) != 0) held.push_back(id);
  }
  for (const ActorID& id : held) RemoveActorHolder(session, id);
}

// ---- Cancelling calls -------------------------------------------------------------------------

bool ClusterWork::HasActorCall(const TaskID& task_id) const {
  for (const auto& [id, actor] : actors_) {
    for (const auto& call : actor->queued) {
      if (call->spec.task_id == task_id) return true;
    }
  }
  for (const auto& [key, pending] : gets_) {
    if (pending->call != nullptr && pending->call->spec.task_id == task_id) return true;
  }
  return false;
}

bool ClusterWork::CancelActorCall(const TaskID& task_id, bool recursive) {
  for (auto& [id, actor] : actors_) {
    auto& queued = actor->queued;
    for (auto it = queued.begin(); it != queued.end(); ++it) {
      if ((*it)->spec.task_id != task_id) continue;
      bool head = it == queued.begin();
      std::unique_ptr<ActorCall> call = std::move(*it);
      queued.erase(it);
      std::vector<RemoteResult> results(1);
      results[0].value = SystemErrorValue(SystemErrorCode::kTaskCancelled,
                                          "task " + call->spec.name + " was cancelled");
      FinishCall(call.get(), std::move(results));
      if (head && actor->waiting) {
        // It held back the calls behind it: they go now (its waiter's late callback pumps again).
        actor->waiting = false;
        PumpActor(id);
      }
      return false;
    }
  }
  for (auto& [key, pending] : gets_) {
    if (pending->call == nullptr || pending->call->spec.task_id != task_id) continue;
    // Sent: the member cancels its copy as its own caller would; the outcome comes back as the
    // call's result.
    Cancel(pending->node, task_id, /*force=*/false, recursive);
    return true;
  }
  return false;
}

void ClusterWork::AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const {
  for (const auto& [id, actor] : actors_) {
    for (const auto& call : actor->queued) {
      if (call->spec.parent == parent) children->push_back(call->spec.task_id);
    }
  }
  for (const auto& [key, pending] : gets_) {
    if (pending->call != nullptr && pending->call->spec.parent == parent) {
      children->push_back(pending->call->spec.task_id);
    }
  }
}

}  // namespace rayx
