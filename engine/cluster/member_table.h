// MemberTable: what one node knows of the cluster's members, as plain data with no I/O, so that
// the rules of membership can be tested alone:
// - a member is alive from the first time it is heard of until it is silent past the timeout or
//   another member says it is dead;
// - a dead member stays dead: its id is never accepted again (a node that comes back has a new
//   random id, so no old state is resurrected).
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/ids.h"

namespace rayx {

struct MemberState {
  NodeID id;
  std::string address;  // HOST:PORT others join by.
  int pid = 0;
  std::string socket_path;  // For drivers on the member's machine.
  bool alive = true;
  std::map<std::string, double> total;
  std::map<std::string, double> available;
  uint64_t store_used = 0;
  uint64_t store_capacity = 0;
  uint32_t running_tasks = 0;
  uint64_t last_heard_ms = 0;  // On the local clock.
};

class MemberTable {
 public:
  explicit MemberTable(NodeID self) : self_(self) {}

  // Records news of a member heard at now_ms (directly, or at second hand when direct is false:
  // news at second hand adds a member but does not count as hearing from it). Returns false, and
  // changes nothing, when the member is this node or known to be dead.
  bool Heard(const MemberState& info, uint64_t now_ms, bool direct);

  // Marks a member dead. Returns true if it was alive (the caller spreads the news).
  bool MarkDead(const NodeID& id);

  // Marks dead every live member not heard from for more than timeout_ms, and returns them.
  std::vector<NodeID> Expire(uint64_t now_ms, uint64_t timeout_ms);

  bool IsDead(const NodeID& id) const;
  bool IsAlive(const NodeID& id) const;
  const std::map<NodeID, MemberState>& members() const { return members_; }

 private:
  NodeID self_;
  std::map<NodeID, MemberState> members_;  // Other members, alive and dead.
};

}  // namespace rayx
