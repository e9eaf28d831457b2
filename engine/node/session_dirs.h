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

// The sockets of the nodes alive on this machine, found through their locked session directories.
std::vector<std::string> LiveNodeSockets();

}  // namespace rayx
