#include "engine/cluster/member_table.h"

namespace rayx {

bool MemberTable::Heard(const MemberState& info, uint64_t now_ms, bool direct) {
  if (info.id == self_) return false;
  auto it = members_.find(info.id);
  if (it != members_.end() && !it->second.alive) return false;
  if (it == members_.end()) {
    MemberState& m = members_[info.id];
    m = info;
    m.alive = true;
    m.last_heard_ms = now_ms;  // The timeout runs from when it was first heard of.
    return true;
  }
  if (!direct) return true;  // Second-hand news of a known member changes nothing.
  MemberState& m = it->second;
  m = info;
  m.alive = true;
  m.last_heard_ms = now_ms;
  return true;
}

bool MemberTable::MarkDead(const NodeID& id) {
  if (id == self_) return false;
  auto it = members_.find(id);
  if (it == members_.end()) {
    MemberState& m = members_[id];
    m.id = id;
    m.alive = false;
    return false;
  }
  bool was_alive = it->second.alive;
  it->second.alive = false;
  it->second.available.clear();
  it->second.running_tasks = 0;
  return was_alive;
}

std::vector<NodeID> MemberTable::Expire(uint64_t now_ms, uint64_t timeout_ms) {
  std::vector<NodeID> dead;
  for (auto& [id, m] : members_) {
    if (m.alive && now_ms > m.last_heard_ms + timeout_ms) dead.push_back(id);
  }
  for (const NodeID& id : dead) MarkDead(id);
  return dead;
}

bool MemberTable::IsDead(const NodeID& id) const {
  auto it = members_.find(id);
  return it != members_.end() && !it->second.alive;
}

bool MemberTable::IsAlive(const NodeID& id) const {
  auto it = members_.find(id);
  return it != members_.end() && it->second.alive;
}

}  // namespace rayx
