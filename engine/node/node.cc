#include "engine/node/node.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <future>
#include <unordered_map>

#include "engine/base/logging.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/node/actor_manager.h"
#include "engine/node/node_service.h"
#include "engine/node/session_dirs.h"
#include "engine/node/task_manager.h"
#include "engine/objects/io_pool.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

namespace {

void Warn(const std::string& message) {
  std::string line = "rayx: warning: " + message + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

struct Node::Components {
  NodeID node_id;
  std::string session_dir;   // The socket and the object store's files.
  std::string data_session_dir;  // Under the data directory: spill files.
  std::string socket_path;
  std::vector<int> lock_fds;  // Held (flock) while the node runs: its directories are live.
  EventLoop loop;
  // Built and destroyed on the loop thread.
  std::unordered_map<std::string, std::string> functions;
  std::unique_ptr<IoPool> io;
  std::unique_ptr<ObjectTable> objects;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<TaskManager> tasks;
  std::unique_ptr<ActorManager> actors;
  std::unique_ptr<NodeService> service;
  std::unique_ptr<UnixListener> listener;
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

  std::string data_sessions = DataDirectory() + "/sessions";
  RemoveStaleSessions(kShmRoot);
  RemoveStaleSessions(data_sessions);
  std::unique_ptr<Node> node(new Node());
  Components* c = node->components_.get();
  c->node_id = NodeID::FromRandom();
  std::string name = SessionName(c->node_id);

  // The store's capacity: as asked, else 30% of RAM, within what /dev/shm can hold. When /dev/shm
  // cannot hold what was asked, the store is a directory of files in the data directory instead
  // (slower: the kernel may write its pages to disk).
  uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t shm_free = FreeBytes(kShmRoot);
  uint64_t capacity = options.object_store_memory;
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
  c->data_session_dir = data_sessions + "/" + name;
  c->session_dir = in_shm ? std::string(kShmRoot) + "/" + name : c->data_session_dir + "/store";
  if (!in_shm) {
    Warn("/dev/shm has " + std::to_string(shm_free >> 20) + " MiB free, less than the object store's " +
         std::to_string(capacity >> 20) + " MiB; the store uses files in " + c->session_dir +
         " instead, which may be slower. Make /dev/shm larger or pass a smaller object_store_memory.");
  }
  RAYX_RETURN_IF_ERROR(MakeDirs(c->data_session_dir + "/spill"));
  if (mkdir(c->session_dir.c_str(), 0700) != 0) {
    RemoveTree(c->data_session_dir);
    return ErrnoError("create the session directory " + c->session_dir, errno);
  }
  for (const std::string& dir : {c->session_dir, c->data_session_dir}) {
    auto lock = LockSession(dir);
    if (!lock.ok()) {
      RemoveTree(c->session_dir);
      RemoveTree(c->data_session_dir);
      return lock.status();
    }
    c->lock_fds.push_back(*lock);
  }
  c->socket_path = c->session_dir + "/node.sock";
  RAYX_RETURN_IF_ERROR(c->loop.Start());

  std::promise<Status> started;
  c->loop.Post([c, &options, &total, &started, capacity] {
    c->io = std::make_unique<IoPool>(2, [c](std::function<void()> fn) { c->loop.Post(std::move(fn)); });
    c->objects = std::make_unique<ObjectTable>(ObjectTableOptions{
        c->session_dir, c->data_session_dir + "/spill", capacity, c->io.get()});
    c->pool = std::make_unique<WorkerPool>(
        &c->loop, WorkerPoolOptions{options.executable, c->socket_path, /*max_workers=*/512});
    c->tasks = std::make_unique<TaskManager>(
        c->objects.get(), c->pool.get(), &c->functions, total,
        Warn);
    c->actors = std::make_unique<ActorManager>(c->objects.get(), c->pool.get(), c->tasks.get(),
                                               &c->functions);
    c->pool->SetHandlers([c](Worker* w) { c->tasks->OnWorkerReady(w); },
                         [c](Worker* w) {
                           c->actors->OnWorkerExit(w);
                           c->tasks->OnWorkerExit(w);
                           c->actors->CollectUnreferenced();
                         });
    // Tasks and stored values that carry actor handles keep those actors alive. The check on
    // actors guards the node's teardown, when the object table outlives the actor manager.
    ObjectTable::ActorPinFn pin_actor = [c](const ActorID& id, int delta) {
      if (c->actors) c->actors->PinActor(id, delta);
    };
    c->objects->SetActorPinner(pin_actor);
    c->tasks->SetActorPinner(pin_actor);
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
    c->io.reset();  // Joins its threads; their late completions are dropped with the loop.
    c->pool.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // The loop closes the remaining handles (the pool's process handles among them) as it stops.
  c->loop.Stop();
  RemoveTree(c->session_dir);
  RemoveTree(c->data_session_dir);
  for (int fd : c->lock_fds) close(fd);
  c->lock_fds.clear();
}

}  // namespace rayx
