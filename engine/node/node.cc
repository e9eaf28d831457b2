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
#include "engine/node/actor_manager.h"
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

constexpr char kLockFile[] = "/lock";

// A live node holds an exclusive flock on its session directory's lock file for its whole life.
// A session whose lock can be taken belongs to a node that died without cleaning up (SIGKILL) and
// is removed when the next node starts. A lock, unlike a pid, means the same thing across pid
// namespaces that share /dev/shm (containers, sandboxes).
void RemoveStaleSessions() {
  DIR* dir = opendir(kSessionRoot);
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind(kSessionPrefix, 0) != 0) continue;
    std::string lock = std::string(kSessionRoot) + "/" + name + kLockFile;
    int fd = open(lock.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;  // Not created yet, or not ours to judge.
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) stale.push_back(name);
    close(fd);
  }
  closedir(dir);
  for (const auto& name : stale) RemoveTree(std::string(kSessionRoot) + "/" + name);
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
  std::unique_ptr<ActorManager> actors;
  std::unique_ptr<NodeService> service;
  std::unique_ptr<UnixListener> listener;
  int lock_fd = -1;  // Holds the session's flock while the node lives.
  bool running = false;
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
  c->lock_fd = open((c->session_dir + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    RemoveTree(c->session_dir);
    return ErrnoError("lock the session directory " + c->session_dir, e);
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
    c->actors = std::make_unique<ActorManager>(c->objects.get(), c->pool.get(), c->tasks.get(),
                                               &c->functions);
    c->pool->SetHandlers([c](Worker* w) { c->tasks->OnWorkerReady(w); },
                         [c](Worker* w) {
                           c->actors->OnWorkerExit(w);
                           c->tasks->OnWorkerExit(w);
                         });
    c->service = std::make_unique<NodeService>(&c->loop, c->node_id, c->session_dir,
                                               c->objects.get(), c->pool.get(), c->tasks.get(),
                                               c->actors.get(), &c->functions);
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
    c->actors.reset();
    c->tasks.reset();
    c->objects.reset();
    c->pool.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // The loop closes the remaining handles (the pool's process handles among them) as it stops.
  c->loop.Stop();
  RemoveTree(c->session_dir);
  close(c->lock_fd);
}

}  // namespace rayx
