#include "engine/node/session_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace rayx {

namespace {

constexpr char kSessionPrefix[] = "rayx-";
// A session's folder is made and locked under this prefix, then renamed to its own name.
constexpr char kStagingPrefix[] = ".new-rayx-";
constexpr char kLockFile[] = "/.lock";

// True when a live node holds dir's lock.
bool IsLocked(const std::string& dir) {
  int fd = open((dir + kLockFile).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = flock(fd, LOCK_EX | LOCK_NB) != 0;
  close(fd);
  return locked;
}

}  // namespace

void RemoveTree(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir != nullptr) {
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      std::string child = path + "/" + name;
      struct stat st;
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(child);
      } else {
        unlink(child.c_str());
      }
    }
    closedir(dir);
  }
  rmdir(path.c_str());
}

void RemoveStaleSessions(const std::string& root) {
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    bool staging = name.rfind(kStagingPrefix, 0) == 0;
    if (name.rfind(kSessionPrefix, 0) != 0 && !staging) continue;
    std::string path = root + "/" + name;
    int fd = staging ? -1 : open((path + kLockFile).c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      if (flock(fd, LOCK_EX | LOCK_NB) == 0) stale.push_back(name);
      close(fd);
      continue;
    }
    // A staging folder, or a session folder with no lock file, is one that its node is making
    // this moment, or one left by a node killed as it made it.
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && time(nullptr) - st.st_mtime > 60) stale.push_back(name);
  }
  closedir(dir);
  for (const auto& name : stale) RemoveTree(root + "/" + name);
}

StatusOr<int> LockSession(const std::string& dir) {
  std::string path = dir + kLockFile;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create " + path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError("lock " + path, e);
  }
  return fd;
}

namespace {

// dir: a session folder, whose name starts with kSessionPrefix.
StatusOr<int> MakeLockedDir(const std::string& dir) {
  // Under its final name, a folder would lie unlocked between its mkdir and its lock, and another
  // node's RemoveStaleSessions that looked then removed it (its socket with it) for a dead one's.
  size_t slash = dir.rfind('/');
  std::string staging = dir.substr(0, slash + 1) + kStagingPrefix +
                        dir.substr(slash + 1 + std::strlen(kSessionPrefix));
  if (mkdir(staging.c_str(), 0700) != 0) {
    return ErrnoError("create the session directory " + staging, errno);
  }
  StatusOr<int> fd = LockSession(staging);
  if (fd.ok() && rename(staging.c_str(), dir.c_str()) != 0) {
    int e = errno;
    close(*fd);
    fd = ErrnoError("rename " + staging + " to " + dir, e);
  }
  if (!fd.ok()) RemoveTree(staging);
  return fd;
}

}  // namespace

Status MakeDirs(const std::string& path) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("create directory " + prefix, errno);
    }
  }
  return Status::OK();
}

std::string DataDirectory() {
  const char* home = std::getenv("RAYX_HOME");
  if (home != nullptr && home[0] != '\0') return home;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home != nullptr && user_home[0] != '\0' ? user_home : "/tmp") + "/.rayx";
}

uint64_t FreeBytes(const char* path) {
  struct statvfs st;
  if (statvfs(path, &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t AvailableMemoryBytes() {
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kib = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof(line), f) != nullptr) {
      found = std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
    }
    std::fclose(f);
    if (found) return static_cast<uint64_t>(kib) * 1024;
  }
  return static_cast<uint64_t>(sysconf(_SC_AVPHYS_PAGES)) *
         static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string SessionName(const NodeID& node_id) {
  // rayx-n<pid>-<node id>: the "n" keeps older rayx builds, which judged staleness by a pid at
  // this place (wrong across pid namespaces), away from this directory.
  return kSessionPrefix + std::string("n") + std::to_string(getpid()) + "-" +
         node_id.Hex().substr(0, 8);
}

std::vector<std::string> LiveNodeSockets() {
  std::vector<std::string> sockets;
  for (const std::string& root : {std::string(kShmRoot), DataDirectory() + "/sessions"}) {
    DIR* dir = opendir(root.c_str());
    if (dir == nullptr) continue;
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name.rfind(kSessionPrefix, 0) != 0) continue;
      // A file-backed store keeps its socket in the data directory's session, under store/.
      for (const std::string& store : {root + "/" + name, root + "/" + name + "/store"}) {
        struct stat st;
        std::string socket = store + "/node.sock";
        if (stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && IsLocked(store)) {
          sockets.push_back(socket);
        }
      }
    }
    closedir(dir);
  }
  return sockets;
}

StatusOr<std::unique_ptr<SessionDirs>> SessionDirs::Create(
    const NodeID& node_id, uint64_t object_store_memory,
    const std::function<void(const std::string&)>& warn) {
  std::string data_sessions = DataDirectory() + "/sessions";
  RemoveStaleSessions(kShmRoot);
  RemoveStaleSessions(data_sessions);

  uint64_t ram =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t shm_free = FreeBytes(kShmRoot);
  uint64_t capacity = object_store_memory;
  bool in_shm = true;
  if (capacity == 0) {
    capacity = std::min<uint64_t>(ram * 3 / 10, shm_free * 9 / 10);
    if (capacity < (64ull << 20)) {
      capacity = ram * 3 / 10;
      in_shm = false;
    }
  } else if (capacity > shm_free) {
    in_shm = false;
  }

  std::unique_ptr<SessionDirs> dirs(new SessionDirs());
  std::string name = SessionName(node_id);
  dirs->capacity_ = capacity;
  dirs->data_dir_ = data_sessions + "/" + name;
  dirs->store_dir_ = in_shm ? std::string(kShmRoot) + "/" + name : dirs->data_dir_ + "/store";
  if (!in_shm) {
    warn("/dev/shm has " + std::to_string(shm_free >> 20) +
         " MiB free, less than the object store's " + std::to_string(capacity >> 20) +
         " MiB; the store uses files in " + dirs->store_dir_ +
         " instead, which may be slower. Make /dev/shm larger or pass a smaller "
         "object_store_memory.");
  }
  // From here on the destructor removes whatever was made. The folders other nodes sweep appear
  // only once locked (MakeLockedDir); a file-backed store lies inside the data folder.
  RAYX_RETURN_IF_ERROR(MakeDirs(data_sessions));
  RAYX_ASSIGN_OR_RETURN(int data_fd, MakeLockedDir(dirs->data_dir_));
  dirs->lock_fds_.push_back(data_fd);
  if (mkdir(dirs->spill_dir().c_str(), 0700) != 0) {
    return ErrnoError("create the session directory " + dirs->spill_dir(), errno);
  }
  if (in_shm) {
    RAYX_ASSIGN_OR_RETURN(int store_fd, MakeLockedDir(dirs->store_dir_));
    dirs->lock_fds_.push_back(store_fd);
  } else {
    if (mkdir(dirs->store_dir_.c_str(), 0700) != 0) {
      return ErrnoError("create the session directory " + dirs->store_dir_, errno);
    }
    RAYX_ASSIGN_OR_RETURN(int store_fd, LockSession(dirs->store_dir_));
    dirs->lock_fds_.push_back(store_fd);
  }
  return dirs;
}

SessionDirs::~SessionDirs() {
  if (!store_dir_.empty()) RemoveTree(store_dir_);
  if (!data_dir_.empty()) RemoveTree(data_dir_);
  for (int fd : lock_fds_) close(fd);
}

}  // namespace rayx
