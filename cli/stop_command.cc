#include "cli/stop_command.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "cli/daemon_info.h"

namespace rayx::cli {
namespace {

// A daemon given SIGTERM stops its workers and exits; one still there after this is killed.
constexpr int kGraceMs = 10000;

bool WaitGone(int pid, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (!ProcessAlive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !ProcessAlive(pid);
}

// Returns whether a daemon was there to stop.
bool StopOne(const std::string& data_dir) {
  StatusOr<DaemonInfo> info = ReadDaemonInfo(data_dir);
  if (!info.ok()) return false;
  if (!ProcessAlive(info->pid)) {
    RemoveDaemonInfo(*info);  // Left by a daemon that was killed.
    return false;
  }
  kill(info->pid, SIGTERM);
  bool graceful = WaitGone(info->pid, kGraceMs);
  if (!graceful) {
    kill(info->pid, SIGKILL);
    WaitGone(info->pid, 2000);
    RemoveDaemonInfo(*info);
  }
  std::printf("stopped node %s (pid %d, %s, %s)%s\n", info->node_id.c_str(), info->pid,
              info->address.c_str(), data_dir.c_str(),
              graceful ? "" : ": it did not stop within 10 s and was killed");
  return true;
}

void Stop(const std::string& data_dir) {
  std::set<std::string> dirs;
  if (!data_dir.empty()) {
    char resolved[PATH_MAX];
    dirs.insert(realpath(data_dir.c_str(), resolved) != nullptr ? resolved : data_dir);
  } else {
    dirs.insert(DefaultDaemonDir());
    for (const std::string& d : RegisteredDaemonDirs()) dirs.insert(d);
  }
  int stopped = 0;
  for (const std::string& d : dirs) stopped += StopOne(d) ? 1 : 0;
  if (stopped == 0) {
    std::printf("no rayx node daemon was running%s%s\n", data_dir.empty() ? "" : " in ",
                data_dir.c_str());
  }
}

}  // namespace

void AddStopCommand(CLI::App* app) {
  auto data_dir = std::make_shared<std::string>();
  CLI::App* stop = app->add_subcommand(
      "stop", "Stop the node daemon of --data-dir, or every node daemon on this machine.");
  stop->add_option("--data-dir", *data_dir, "The data directory given to `rayx start`");
  stop->callback([data_dir] { Stop(*data_dir); });
}

}  // namespace rayx::cli
