// What a node daemon (`rayx start`) leaves in its data directory for `rayx stop` and `rayx run`:
// DATA_DIR/node.info, "key=value" lines (pid, node_id, address, socket), written once the node
// serves and removed when it stops; and a registry entry $RAYX_HOME/daemons/<pid> holding the data
// directory, so that `rayx stop` without --data-dir finds every daemon of this machine.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"

namespace rayx::cli {

struct DaemonInfo {
  int pid = 0;
  std::string node_id;
  std::string address;  // HOST:PORT peers join by.
  std::string socket;   // The node's Unix socket.
  std::string data_dir;
};

Status WriteDaemonInfo(const DaemonInfo& info);
StatusOr<DaemonInfo> ReadDaemonInfo(const std::string& data_dir);
void RemoveDaemonInfo(const DaemonInfo& info);
// The data directories of the daemons registered on this machine.
std::vector<std::string> RegisteredDaemonDirs();
// Whether pid is a live process (not a zombie).
bool ProcessAlive(int pid);
// The default data directory of `rayx start`: $RAYX_HOME/node.
std::string DefaultDaemonDir();

}  // namespace rayx::cli
