// The records a NodeService keeps per client session and per waiting get or wait. Private to the
// service's own sources (node_service.cc, node_service_objects.cc, node_service_cancel.cc).
#ifndef RAYX_ENGINE_NODE_NODE_SERVICE_SESSION_H_
#define RAYX_ENGINE_NODE_NODE_SERVICE_SESSION_H_

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/node/node_service.h"

namespace rayx {

struct NodeService::Session {
  uint64_t key = 0;
  std::shared_ptr<Connection> connection;
  bool greeted = false;
  ClientOrigin origin = ClientOrigin::kLocal;
  wire::Role role = wire::Role::Driver;
  WorkerID worker_id;  // Nil for a driver.
  JobID job_id;
  NodeID member_id;  // Role Node: the member this session's link comes from.
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
  bool unknown_pending = false;  // An unknown id is not ready (WaitObjects.unknown_pending).
  std::vector<std::pair<ObjectID, uint64_t>> waiters;
  std::unique_ptr<Timer> timer;
  bool blocking = false;
};

}  // namespace rayx

#endif  // RAYX_ENGINE_NODE_NODE_SERVICE_SESSION_H_
