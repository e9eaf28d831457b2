#include "engine/node/placement_group_manager.h"

#include <algorithm>

#include "engine/base/logging.h"
#include "engine/node/bundle_wire.h"

namespace rayx {

PlacementGroupManager::PlacementGroupManager(EventLoop* loop, const NodeID& node_id,
                                             TaskManager* tasks, ActorManager* actors,
                                             BundleHost* host)
    : loop_(loop), node_id_(node_id), tasks_(tasks), actors_(actors), host_(host) {}

PlacementGroupManager::~PlacementGroupManager() { tasks_->SetReservationHook(nullptr); }

StatusOr<const PlacementGroupManager::Group*> PlacementGroupManager::Create(Group group) {
  if (group.id.size() != kPlacementGroupIdSize) {
    return InvalidArgument("a placement group id has " + std::to_string(kPlacementGroupIdSize) +
                           " bytes, got " + std::to_string(group.id.size()));
  }
  RAYX_RETURN_IF_ERROR(ValidateBundles(group.bundles));
  if (group.bundles.size() > kMaxBundlesPerRequest) {
    // A member refuses a BundleRequest naming more (bundle_wire.h).
    return InvalidArgument("a placement group has at most " +
                           std::to_string(kMaxBundlesPerRequest) + " bundles, got " +
                           std::to_string(group.bundles.size()));
  }
  for (const ResourceSet& bundle : group.bundles) {
    RAYX_RETURN_IF_ERROR(NodeResources::Validate(bundle));
  }
  if (groups_.count(group.id) != 0) {
    return AlreadyExists("placement group " + PlacementGroupHex(group.id) + " exists already");
  }
  if (!group.name.empty() && FindByName(group.name) != nullptr) {
    return AlreadyExists("a placement group named '" + group.name + "' exists already");
  }
  group.hex = PlacementGroupHex(group.id);
  group.state = State::kPending;
  group.nodes.assign(group.bundles.size(), NodeID());
  auto owned = std::make_unique<Group>(std::move(group));
  Group* raw = owned.get();
  groups_.emplace(raw->id, std::move(owned));
  order_.push_back(raw->id);
  // Behind the groups that wait already: they were asked for first.
  pending_.push_back(raw->id);
  ReservePending();
  return raw;
}

ResourceSet PlacementGroupManager::DerivedOf(const Group& group,
                                             const std::vector<int>& indexes) const {
  ResourceSet derived;
  for (int i : indexes) derived.Add(DerivedBundleResources(group.hex, i, group.bundles[i]));
  return derived;
}

bool PlacementGroupManager::Send(const NodeID& node, wire::BundleOp op, const Group& group,
                                 const std::vector<int>& indexes, const std::string& why,
                                 uint64_t request_id) {
  if (!cluster_.send) return false;
  BundleRequestFields fields;
  fields.request_id = request_id;
  fields.op = op;
  fields.group_id = group.id;
  fields.why = why;
  for (int i : indexes) {
    fields.bundles.emplace_back(i,
                                op == wire::BundleOp::Prepare ? group.bundles[i] : ResourceSet());
  }
  return cluster_.send(node, BundleRequestFrame(fields));
}

PlacementGroupManager::Outcome PlacementGroupManager::TryReserve(Group* group) {
  std::vector<MemberResources> members;
  members.push_back(
      MemberResources{node_id_, tasks_->resources().total(), tasks_->resources().available()});
  if (cluster_.members) {
    const uint64_t now = loop_->NowMs();
    for (auto it = lost_until_ms_.begin(); it != lost_until_ms_.end();) {
      it = it->second <= now ? lost_until_ms_.erase(it) : std::next(it);
    }
    for (MemberResources& m : cluster_.members()) {
      if (m.id != node_id_ && lost_until_ms_.count(m.id) == 0) members.push_back(std::move(m));
    }
  }
  BundlePlacement placement = PlaceBundles(group->strategy, group->bundles, group->nodes, members);
  if (placement.outcome == BundlePlacement::Outcome::kNever) return Outcome::kNever;
  if (placement.outcome == BundlePlacement::Outcome::kWait) return Outcome::kWait;
  std::vector<std::pair<int, ResourceSet>> local;
  std::map<NodeID, std::vector<int>> remote;
  for (size_t i = 0; i < group->bundles.size(); ++i) {
    if (!group->nodes[i].IsNil()) continue;  // Held already (a group being rescheduled).
    if (placement.nodes[i] == node_id_) {
      local.emplace_back(static_cast<int>(i), group->bundles[i]);
    } else {
      remote[placement.nodes[i]].push_back(static_cast<int>(i));
    }
  }
  // Phase one here: this node's figures are exact, so this fails only on GPU instances that are
  // free in sum but not whole.
  if (!host_->Prepare(node_id_, group->hex, local)) return Outcome::kWait;
  std::vector<int> local_indexes;
  for (const auto& [i, amounts] : local) local_indexes.push_back(i);
  if (remote.empty()) {
    host_->Commit(node_id_, group->hex, local_indexes);
    group->nodes = placement.nodes;
    group->state = State::kCreated;
    return Outcome::kReserved;
  }
  auto round = std::make_unique<Round>();
  round->group_id = group->id;
  round->request_id = next_request_++;
  round->started_ms = loop_->NowMs();
  round->nodes = placement.nodes;
  round->local = std::move(local_indexes);
  round->remote = remote;
  round_ = std::move(round);
  bool sent = true;
  for (const auto& [node, indexes] : remote) {
    round_->answered[node] = false;
    sent = sent && Send(node, wire::BundleOp::Prepare, *group, indexes, "", round_->request_id);
  }
  if (!sent) {
    FinishRound(false);
    return Outcome::kWait;
  }
  ArmTick();
  return Outcome::kStarted;
}

void PlacementGroupManager::FinishRound(bool ok) {
  if (!round_) return;
  std::unique_ptr<Round> round = std::move(round_);
  auto it = groups_.find(round->group_id);
  Group* group = it == groups_.end() ? nullptr : it->second.get();
  if (group == nullptr) return;  // Forgotten: nothing of it can be held (Unreserve ran first).
  const bool live = group->state == State::kPending || group->state == State::kRescheduling;
  reserving_ = true;
  if (ok && live) {
    for (const auto& [node, indexes] : round->remote) {
      Send(node, wire::BundleOp::Commit, *group, indexes, "");
      if (cluster_.note) cluster_.note(node, DerivedOf(*group, indexes), /*added=*/true);
    }
    host_->Commit(node_id_, group->hex, round->local);
    group->nodes = round->nodes;
    group->state = State::kCreated;
    pending_.erase(std::remove(pending_.begin(), pending_.end(), group->id), pending_.end());
    // Work that found no member for the bundles' resources before the commit tries again now
    // (and again when a member's heartbeat shows its new totals: ClusterWork::OnMemberTotals).
    tasks_->RetryInfeasible();
  } else {
    const std::string why = "the reservation of placement group " + group->hex + " was abandoned";
    for (const auto& [node, indexes] : round->remote) {
      Send(node, wire::BundleOp::Return, *group, indexes, why);
    }
    host_->Return(node_id_, group->hex, round->local, why, /*end_work=*/false);
  }
  reserving_ = false;
  ArmTick();
  if (ok) ReservePending();  // A failure waits for the tick, whose views will be newer.
}

void PlacementGroupManager::OnPrepareReply(const NodeID& from, uint64_t request_id,
                                           const std::string& error) {
  if (!round_ || round_->request_id != request_id) return;  // Late: that round is over.
  auto it = round_->answered.find(from);
  if (it == round_->answered.end() || it->second) return;
  if (!error.empty()) {
    RAYX_LOG(Info) << "placement group: node " << from.Hex()
                   << " could not prepare bundles: " << error;
    FinishRound(false);
    return;
  }
  it->second = true;
  for (const auto& [node, prepared] : round_->answered) {
    if (!prepared) return;
  }
  FinishRound(true);
}

void PlacementGroupManager::OnMemberLost(const NodeID& node) {
  lost_until_ms_[node] = loop_->NowMs() + kLostMemberPauseMs;
  if (round_ && round_->remote.count(node) != 0) FinishRound(false);
  for (const std::string& id : order_) {
    Group* group = groups_.at(id).get();
    if (group->state != State::kCreated && group->state != State::kRescheduling) continue;
    bool lost = false;
    for (NodeID& holder : group->nodes) {
      if (holder == node) {
        holder = NodeID();
        lost = true;
      }
    }
    if (!lost) continue;
    RAYX_LOG(Warning) << "placement group " << group->hex << ": node " << node.Hex()
                      << " is gone with some of its bundles; rescheduling them";
    if (group->state == State::kCreated) {
      group->state = State::kRescheduling;
      pending_.push_front(group->id);  // Ahead of the groups that wait, as Ray does.
    }
  }
  ReservePending();
}

void PlacementGroupManager::ReservePending() {
  if (reserving_ || round_) return;
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto group = groups_.find(*it);
    if (group == groups_.end() ||
        (group->second->state != State::kPending && group->second->state != State::kRescheduling)) {
      it = pending_.erase(it);
      continue;
    }
    // TryReserve commits here, which dispatches, which runs the hook: reserving_ keeps it from
    // coming back here.
    reserving_ = true;
    Outcome outcome = TryReserve(group->second.get());
    reserving_ = false;
    if (outcome == Outcome::kNever) {
      ++it;  // One that can never be placed now waits without holding back the others.
      continue;
    }
    // In order: one that does not fit now holds back the later ones, as Ray's queue does.
    if (outcome == Outcome::kWait || outcome == Outcome::kStarted) break;
    it = pending_.erase(it);
  }
  UpdateHook();
  ArmTick();
}

void PlacementGroupManager::UpdateHook() {
  if (pending_.empty()) {
    tasks_->SetReservationHook(nullptr);
  } else {
    tasks_->SetReservationHook([this] { ReservePending(); });
  }
}

void PlacementGroupManager::ArmTick() {
  const bool wanted = round_ != nullptr || (!pending_.empty() && cluster_.members);
  if (!wanted) {
    if (ticking_) tick_->Stop();
    ticking_ = false;
    return;
  }
  if (ticking_) return;
  if (!tick_) tick_ = std::make_unique<Timer>(loop_);
  ticking_ = true;
  tick_->Start(kRetryMs, kRetryMs, [this] { Tick(); });
}

void PlacementGroupManager::Tick() {
  const uint64_t now = loop_->NowMs();
  if (round_ && now - round_->started_ms > kPrepareTimeoutMs) {
    RAYX_LOG(Warning) << "placement group: a member did not answer its prepare in time";
    FinishRound(false);
  }
  ReservePending();
}

Status PlacementGroupManager::Remove(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    return NotFound("placement group " + PlacementGroupHex(id) + " does not exist");
  }
  Group* group = it->second.get();
  if (group->state == State::kRemoved) return Status::OK();
  Unreserve(group, "its placement group " + group->hex + " was removed");
  return Status::OK();
}

void PlacementGroupManager::Unreserve(Group* group, const std::string& why) {
  group->state = State::kRemoved;
  pending_.erase(std::remove(pending_.begin(), pending_.end(), group->id), pending_.end());
  if (round_ && round_->group_id == group->id) FinishRound(false);
  // Its work here first (what waits for its resources fails, whether or not a bundle is here),
  // then its bundles, here and on the members that hold them (which end its work there).
  actors_->KillPlacementGroupActors(group->hex, why);
  tasks_->FailGroupWork(group->hex, why);
  std::map<NodeID, std::vector<int>> held;
  for (size_t i = 0; i < group->nodes.size(); ++i) {
    if (!group->nodes[i].IsNil()) held[group->nodes[i]].push_back(static_cast<int>(i));
    group->nodes[i] = NodeID();
  }
  for (const auto& [node, indexes] : held) {
    if (node == node_id_) {
      host_->Return(node_id_, group->hex, indexes, why, /*end_work=*/false);
    } else {
      Send(node, wire::BundleOp::Return, *group, indexes, why);
      if (cluster_.note) cluster_.note(node, DerivedOf(*group, indexes), /*added=*/false);
    }
  }
  removed_.push_back(group->id);
  while (removed_.size() > kMaxRemembered) {
    std::string oldest = removed_.front();
    removed_.pop_front();
    groups_.erase(oldest);
    order_.erase(std::remove(order_.begin(), order_.end(), oldest), order_.end());
  }
  ReservePending();
}

const PlacementGroupManager::Group* PlacementGroupManager::Find(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const PlacementGroupManager::Group* PlacementGroupManager::FindByName(
    const std::string& name) const {
  for (const std::string& id : order_) {
    const Group* group = groups_.at(id).get();
    if (group->name == name && group->state != State::kRemoved) return group;
  }
  return nullptr;
}

std::vector<const PlacementGroupManager::Group*> PlacementGroupManager::All() const {
  std::vector<const Group*> all;
  all.reserve(order_.size());
  for (const std::string& id : order_) all.push_back(groups_.at(id).get());
  return all;
}

void PlacementGroupManager::OnSessionClosed(uint64_t session) {
  std::vector<std::string> doomed;
  for (const std::string& id : order_) {
    const Group* group = groups_.at(id).get();
    if (group->creator_session == session && !group->detached && group->state != State::kRemoved) {
      doomed.push_back(id);
    }
  }
  for (const std::string& id : doomed) {
    auto it = groups_.find(id);
    if (it != groups_.end()) Unreserve(it->second.get(), "the driver that created it exited");
  }
}

}  // namespace rayx
