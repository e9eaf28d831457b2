#include "engine/node/placement_group_manager.h"

#include <algorithm>

namespace rayx {

PlacementGroupManager::PlacementGroupManager(const NodeID& node_id, TaskManager* tasks,
                                             ActorManager* actors)
    : node_id_(node_id), tasks_(tasks), actors_(actors) {}

PlacementGroupManager::~PlacementGroupManager() { tasks_->SetReservationHook(nullptr); }

StatusOr<const PlacementGroupManager::Group*> PlacementGroupManager::Create(Group group) {
  if (group.id.size() != kPlacementGroupIdSize) {
    return InvalidArgument("a placement group id has " + std::to_string(kPlacementGroupIdSize) +
                           " bytes, got " + std::to_string(group.id.size()));
  }
  RAYX_RETURN_IF_ERROR(ValidateBundles(group.bundles));
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
  auto owned = std::make_unique<Group>(std::move(group));
  Group* raw = owned.get();
  groups_.emplace(raw->id, std::move(owned));
  order_.push_back(raw->id);
  // Behind the groups that wait already: they were asked for first.
  pending_.push_back(raw->id);
  ReservePending();
  return raw;
}

bool PlacementGroupManager::TryReserve(Group* group) {
  if (NeverFits(*group)) return false;
  // ReserveBundles dispatches, which runs the hook: reserving_ keeps it from coming back here.
  reserving_ = true;
  bool reserved = tasks_->ReserveBundles(BundlesTotal(group->bundles),
                                         DerivedResources(group->hex, group->bundles));
  reserving_ = false;
  if (!reserved) return false;
  group->state = State::kCreated;
  return true;
}

bool PlacementGroupManager::NeverFits(const Group& group) const {
  if (group.strategy == PlacementStrategy::kStrictSpread && group.bundles.size() > 1) {
    return true;  // Each bundle on a node of its own: never on one node.
  }
  return !tasks_->resources().IsFeasible(BundlesTotal(group.bundles));
}

void PlacementGroupManager::ReservePending() {
  if (reserving_) return;
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto group = groups_.find(*it);
    if (group == groups_.end() || group->second->state != State::kPending) {
      it = pending_.erase(it);
      continue;
    }
    // One that can never be placed here waits without holding back the others.
    if (NeverFits(*group->second)) {
      ++it;
      continue;
    }
    // In order: one that does not fit now holds back the later ones, as Ray's queue does.
    if (!TryReserve(group->second.get())) break;
    it = pending_.erase(it);
  }
  UpdateHook();
}

void PlacementGroupManager::UpdateHook() {
  if (pending_.empty()) {
    tasks_->SetReservationHook(nullptr);
  } else {
    tasks_->SetReservationHook([this] { ReservePending(); });
  }
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
  const bool was_created = group->state == State::kCreated;
  group->state = State::kRemoved;
  pending_.erase(std::remove(pending_.begin(), pending_.end(), group->id), pending_.end());
  actors_->KillPlacementGroupActors(group->hex, why);
  if (was_created) {
    tasks_->UnreserveBundles(BundlesTotal(group->bundles),
                             DerivedResources(group->hex, group->bundles), group->hex, why);
  } else {
    // Nothing reserved: its work waits for resources that never came; it fails the same way.
    tasks_->UnreserveBundles(ResourceSet(), ResourceSet(), group->hex, why);
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
