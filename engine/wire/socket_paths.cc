#include "engine/wire/socket_paths.h"

namespace rayx {

std::string DirectSocketPath(const std::string& node_socket, const WorkerID& worker_id) {
  size_t slash = node_socket.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".") : node_socket.substr(0, slash);
  return dir + "/workers/" + worker_id.Hex() + ".sock";
}

}  // namespace rayx
