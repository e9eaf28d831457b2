#include "engine/node/node.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <future>
#include <unordered_map>

#include "engine/base/logging.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/node/node_service.h"
#include "engine/node/task_manager.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

namespace {

constexpr char kSessionRoot[] = "/dev/shm";
constexpr char kSessionPrefix[] = "rayx-";

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

// True when a running node holds the lock on the session directory at path (see LockSession).
bool SessionIsLocked(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // Releases the lock if this took it.
  return locked;
}

// Session directories are named rayx-<pid>-<node id>; those of processes that died without
// cleaning up (SIGKILL) are removed when the next node starts. A pid that does not exist here
// may live in another pid namespace sharing /dev/shm (a container, Bazel's test sandbox), so a
// directory whose node still holds its lock is left alone.
void RemoveStaleSessions() {
  DIR* dir = opendir(kSessionRoot);
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind(kSessionPrefix, 0) != 0) continue;
    int pid = std::atoi(name.c_str() + sizeof(kSessionPrefix) - 1);
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(dir);
  for (const auto& name : stale) {
    std::string path = std::string(kSessionRoot) + "/" + name;
    if (!SessionIsLocked(path)) RemoveTree(path);
  }
}

}  // namespace

struct Node::Components {
  NodeID node_id;
  std::string session_dir;
  std::string socket_path;
  EventLoop loop;
  // Built and destroyed on the loop thread.
  std::unordered_map<std::string, std::string> functions;
  std::unique_ptr<ObjectTable> objects;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<TaskManager> tasks;
  std::unique_ptr<NodeService> service;
  std::unique_ptr<UnixListener> listener;
  bool running = false;
  // An open descriptor of session_dir holding flock(LOCK_EX) while the node lives: tells other
  // nodes' RemoveStaleSessions that the directory is in use. The kernel drops it if we die.
  int session_lock = -1;
  ~Components() {
    if (session_lock >= 0) close(session_lock);
  }
};

Node::Node() : components_(std::make_unique<Components>()) {}

Node::~Node() { Stop(); }

const std::string& Node::socket_path() const { return components_->socket_path; }
const NodeID& Node::node_id() const { return components_->node_id; }

StatusOr<std::unique_ptr<Node>> Node::Start(const NodeOptions& options) {
  if (!(options.num_cpus >= 0) || !(options.num_gpus >= 0) ||
      options.num_gpus != std::floor(options.num_gpus)) {
    return InvalidArgument("num_cpus must be >= 0 and num_gpus a whole number >= 0");
  }
  std::map<std::string, double> amounts = options.resources;
  amounts["CPU"] = options.num_cpus;
  amounts["GPU"] = options.num_gpus;
  RAYX_ASSIGN_OR_RETURN(ResourceSet total, ResourceSet::FromDoubles(amounts));

  RemoveStaleSessions();
  std::unique_ptr<Node> node(new Node());
  Components* c = node->components_.get();
  c->node_id = NodeID::FromRandom();
  c->session_dir = std::string(kSessionRoot) + "/" + kSessionPrefix + std::to_string(getpid()) +
                   "-" + c->node_id.Hex().substr(0, 8);
  if (mkdir(c->session_dir.c_str(), 0700) != 0) {
    return ErrnoError("create the session directory " + c->session_dir, errno);
  }
  c->session_lock = open(c->session_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->session_lock < 0 || flock(c->session_lock, LOCK_EX | LOCK_NB) != 0) {
    Status error = ErrnoError("lock the session directory " + c->session_dir, errno);
    RemoveTree(c->session_dir);
    return error;
  }
  c->socket_path = c->session_dir + "/node.sock";
  RAYX_RETURN_IF_ERROR(c->loop.Start());

  std::promise<Status> started;
  c->loop.Post([c, &options, &total, &started] {
    c->objects = std::make_unique<ObjectTable>(c->session_dir);
    c->pool = std::make_unique<WorkerPool>(
        &c->loop, WorkerPoolOptions{options.executable, c->socket_path, /*max_workers=*/512});
    c->tasks = std::make_unique<TaskManager>(
        c->objects.get(), c->pool.get(), &c->functions, total,
        [](const std::string& message) {
          std::string line = "rayx: warning: " + message + "\n";
          ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
          (void)ignored;
        });
    c->pool->SetHandlers([c](Worker* w) { c->tasks->OnWorkerReady(w); },
                         [c](Worker* w) { c->tasks->OnWorkerExit(w); });
    c->service = std::make_unique<NodeService>(&c->loop, c->node_id, c->session_dir,
                                               c->objects.get(), c->pool.get(), c->tasks.get(),
                                               &c->functions);
    c->listener = std::make_unique<UnixListener>(&c->loop);
    Status status = c->listener->Listen(
        c->socket_path, [c](std::shared_ptr<Connection> conn) { c->service->Accept(std::move(conn)); });
    if (status.ok()) c->tasks->Prestart(options.prestart_workers);
    started.set_value(status);
  });
  Status status = started.get_future().get();
  c->running = true;
  if (!status.ok()) {
    node->Stop();
    return status;
  }
  return node;
}

void Node::Stop() {
  Components* c = components_.get();
  if (!c->running) return;
  c->running = false;
  std::promise<void> stopped;
  c->loop.Post([c, &stopped] {
    if (c->listener) c->listener->Close();
    c->listener.reset();
    if (c->pool) c->pool->Stop();
    if (c->service) c->service->CloseAll();
    c->service.reset();
    c->tasks.reset();
    c->objects.reset();
    c->pool.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // The loop closes the remaining handles (the pool's process handles among them) as it stops.
  c->loop.Stop();
  RemoveTree(c->session_dir);
  if (c->session_lock >= 0) close(c->session_lock);
  c->session_lock = -1;
}

}  // namespace rayx
