// Session directories: where a node keeps its socket, its shared-memory objects and its spill
// files, how a live node marks them as its own, and how the next node cleans up after a dead one.
//
// A node's directories are named rayx-n<pid>-<node id prefix>: one in /dev/shm (the socket and the
// store's files) and one under the data directory's sessions/ (spill files; the store too, when
// /dev/shm is too small). A live node holds an flock on each directory's lock file for as long as
// it runs: the lock, not the pid, tells a live session from a dead one, since a node in another pid
// namespace (a sandboxed test) sees live pids as dead.
//
// Thread-compatible: plain functions over the file system.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"

namespace rayx {

inline constexpr char kShmRoot[] = "/dev/shm";

// This process's session name for a node.
std::string SessionName(const NodeID& node_id);

// $RAYX_HOME, else ~/.rayx: where spill files (and a file-backed store) go.
std::string DataDirectory();

// Removes the sessions under root whose lock nobody holds (their node died without cleaning up);
// a directory without a lock file is left alone for a minute (its node may be starting).
void RemoveStaleSessions(const std::string& root);

// Creates dir's lock file and locks it; the returned fd keeps the lock until it is closed.
StatusOr<int> LockSession(const std::string& dir);

// mkdir -p.
Status MakeDirs(const std::string& path);
// rm -r; errors are ignored (what can be removed is).
void RemoveTree(const std::string& path);
// Bytes free for an unprivileged writer on the file system of path; 0 when unknown.
uint64_t FreeBytes(const char* path);
// Bytes of memory new processes can use now: MemAvailable of /proc/meminfo, or the free pages
// when it cannot be read.
uint64_t AvailableMemoryBytes();

// The sockets of the nodes alive on this machine, found through their locked session directories.
std::vector<std::string> LiveNodeSockets();

// One node's directories: created and locked by Create, removed (and unlocked) on destruction.
// Create also sweeps the sessions of dead nodes, and decides where the object store lives and how
// large it is: object_store_memory bytes, or 0 for 30% of RAM within what /dev/shm can hold; when
// /dev/shm cannot hold it, the store is a directory in the data directory instead (slower: the
// kernel may write its pages to disk), and warn tells the user so.
class SessionDirs {
 public:
  static StatusOr<std::unique_ptr<SessionDirs>> Create(
      const NodeID& node_id, uint64_t object_store_memory,
      const std::function<void(const std::string&)>& warn);
  ~SessionDirs();
  SessionDirs(const SessionDirs&) = delete;
  SessionDirs& operator=(const SessionDirs&) = delete;

  // The socket and the store's object files.
  const std::string& store_dir() const { return store_dir_; }
  std::string spill_dir() const { return data_dir_ + "/spill"; }
  std::string socket_path() const { return store_dir_ + "/node.sock"; }
  uint64_t store_capacity() const { return capacity_; }

 private:
  SessionDirs() = default;
  std::string store_dir_;
  std::string data_dir_;  // Under the data directory: spill files (and a file-backed store).
  uint64_t capacity_ = 0;
  std::vector<int> lock_fds_;
};

}  // namespace rayx
