// Where the sockets of a node's processes live, known to both sides of a connection.
//
// Thread-safe: pure functions.
#pragma once

#include <string>

#include "engine/base/ids.h"

namespace rayx {

// Where the worker with this id listens for direct links: in workers/ beside its node's socket.
std::string DirectSocketPath(const std::string& node_socket, const WorkerID& worker_id);

}  // namespace rayx
