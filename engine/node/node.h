// Node: the composition root. It builds the node's components (event loop, listener, object
// table, worker pool, task manager, service), starts them in order and stops them in reverse.
// It holds no logic of its own.
//
// Start() and Stop() are called from any thread but the node's loop thread; the components live
// on the loop thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/cluster/cluster_service.h"

namespace rayx {

struct NodeOptions {
  double num_cpus = 1;
  double num_gpus = 0;
  std::map<std::string, double> resources;  // Custom resources.
  uint64_t object_store_memory = 0;         // 0: the default.
  std::string executable;                   // The rayx binary that workers run.
  size_t prestart_workers = 0;
  // Peers (a daemon of `rayx start`): listen for them and join options.cluster->join. The embedded
  // node of a driver has none and pays nothing for the cluster.
  std::optional<ClusterOptions> cluster;
};

class Node {
 public:
  static StatusOr<std::unique_ptr<Node>> Start(const NodeOptions& options);
  ~Node();  // Stops the node if it runs.

  // Where clients connect.
  const std::string& socket_path() const;
  const NodeID& node_id() const;
  // HOST:PORT peers join by; "" without options.cluster.
  const std::string& cluster_address() const;

  // Kills the workers, closes every connection and handle, removes the session directory.
  // With grace_ms > 0 it first waits, up to that long, for the tasks the node holds to finish.
  void Stop(uint64_t grace_ms = 0);

 private:
  struct Components;
  Node();
  std::unique_ptr<Components> components_;
};

}  // namespace rayx
