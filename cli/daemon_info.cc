#include "cli/daemon_info.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "engine/node/session_dirs.h"

namespace rayx::cli {
namespace {

std::string RegistryDir() { return DataDirectory() + "/daemons"; }

}  // namespace

std::string DefaultDaemonDir() { return DataDirectory() + "/node"; }

Status WriteDaemonInfo(const DaemonInfo& info) {
  RAYX_RETURN_IF_ERROR(MakeDirs(info.data_dir));
  std::string path = info.data_dir + "/node.info";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "pid=" << info.pid << "\nnode_id=" << info.node_id << "\naddress=" << info.address
        << "\nsocket=" << info.socket << "\n";
    if (!out) return IoError("cannot write " + tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + path, errno);
  RAYX_RETURN_IF_ERROR(MakeDirs(RegistryDir()));
  std::ofstream reg(RegistryDir() + "/" + std::to_string(info.pid));
  reg << info.data_dir << "\n";
  return Status::OK();
}

StatusOr<DaemonInfo> ReadDaemonInfo(const std::string& data_dir) {
  std::ifstream in(data_dir + "/node.info");
  if (!in) return NotFound("no node daemon in " + data_dir);
  DaemonInfo info;
  info.data_dir = data_dir;
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "pid") {
      info.pid = std::atoi(value.c_str());
    } else if (key == "node_id") {
      info.node_id = value;
    } else if (key == "address") {
      info.address = value;
    } else if (key == "socket") {
      info.socket = value;
    }
  }
  if (info.pid <= 0) return InvalidArgument("malformed " + data_dir + "/node.info");
  return info;
}

void RemoveDaemonInfo(const DaemonInfo& info) {
  unlink((info.data_dir + "/node.info").c_str());
  unlink((RegistryDir() + "/" + std::to_string(info.pid)).c_str());
}

std::vector<std::string> RegisteredDaemonDirs() {
  std::vector<std::string> dirs;
  DIR* dir = opendir(RegistryDir().c_str());
  if (dir == nullptr) return dirs;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(RegistryDir() + "/" + name);
    std::string data_dir;
    if (std::getline(in, data_dir) && !data_dir.empty()) {
      dirs.push_back(data_dir);
    }
    if (!ProcessAlive(std::atoi(name.c_str()))) unlink((RegistryDir() + "/" + name).c_str());
  }
  closedir(dir);
  return dirs;
}

bool ProcessAlive(int pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  size_t paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return true;
  return content[paren + 2] != 'Z';
}

}  // namespace rayx::cli
