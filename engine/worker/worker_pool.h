// WorkerPool: the node's worker processes: spawning, registration, the idle list and death.
//
// A worker is this same binary started again (uv_spawn of the node's executable) with the
// `worker` subcommand. It connects back to the node's socket and says Hello with the id it was
// given; Register() matches the two. A worker is dead when its process exits or its connection
// closes (the pool then kills the process); the exit handler runs once per worker, and the Worker
// is destroyed after it returns.
//
// Thread: the node's loop thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/sched/resource_set.h"
#include "engine/worker/output_forwarder.h"
#include "engine/worker/output_sink.h"

namespace rayx {

// The program a node starts its workers as: this binary (/proc/self/exe), or the one that
// RAYX_WORKER_EXECUTABLE names. That variable is for profilers and debuggers: a wrapper script that
// runs `valgrind --tool=callgrind` on the real binary with the arguments it is given, say, which
// /proc/self/exe cannot be under valgrind (it names valgrind's own program there).
std::string WorkerExecutable();

struct WorkerPoolOptions {
  std::string executable;   // The rayx binary (WorkerExecutable()).
  std::string node_socket;  // Where workers connect.
  size_t max_workers = 256;
};

// One worker process as the node sees it. Fields other than the pool's are owned by the task
// manager that runs work on it.
struct Worker {
  WorkerID id;
  int pid = 0;
  std::shared_ptr<Connection> connection;  // Set by Register().
  bool idle = false;
  bool dead = false;

  uint64_t task_key = 0;  // The task it runs, 0 when none.
  std::string task_name;  // For the output prefix.
  bool blocked = false;   // Waiting in get or wait; its CPU is given back.
  std::unordered_set<std::string> known_functions;
  // The definition (the node's copy) of the function of the last task sent, which is known.
  const std::string* last_definition = nullptr;
  // The resources of the last task sent (ExecuteTask's resources_as_before); none before the
  // first, as on the worker's side (TaskExecutor::node_resources_).
  ResourceSet last_resources;

  // Pool-private.
  uv_process_t* process = nullptr;
  std::unique_ptr<OutputForwarder> stdout_forwarder;
  std::unique_ptr<OutputForwarder> stderr_forwarder;
};

class WorkerPool {
 public:
  using WorkerHandler = std::function<void(Worker*)>;

  WorkerPool(EventLoop* loop, WorkerPoolOptions options);
  ~WorkerPool();  // Kills every worker still alive.

  // on_ready: a worker registered and is idle. on_exit: a worker died (it may have been running a
  // task); it is destroyed when on_exit returns.
  void SetHandlers(WorkerHandler on_ready, WorkerHandler on_exit);

  // Spawns one more worker, unless max_workers are alive or starting.
  Status StartWorker();

  // Matches a connection that said Hello with worker_id to its process. Null if no such worker is
  // starting (a stranger, or one already registered).
  Worker* Register(const WorkerID& worker_id, std::shared_ptr<Connection> connection);

  // The live worker with this id, or null.
  Worker* Find(const WorkerID& worker_id) {
    auto it = workers_.find(worker_id);
    return it == workers_.end() || it->second->dead ? nullptr : it->second.get();
  }

  // An idle registered worker, taken off the idle list, or null.
  Worker* PopIdle();
  void PushIdle(Worker* worker);

  // Sends signal to the worker's process.
  void Signal(Worker* worker, int signal);
  // Treats the worker as dead now (its connection broke): kills the process.
  void Disconnect(Worker* worker);

  const std::string& node_socket() const { return options_.node_socket; }
  size_t num_alive() const { return workers_.size(); }
  size_t num_starting() const { return starting_; }
  size_t num_idle() const { return idle_.size(); }
  // Workers that died of their own before saying hello, since the last one that did. One killed by
  // SIGKILL (from outside: a user, the OOM killer, a chaos test) does not count: it says nothing
  // of whether workers can start.
  size_t consecutive_start_failures() const { return consecutive_start_failures_; }

  // Kills every worker. Loop thread; the loop must run afterwards for the handles to close.
  void Stop();

 private:
  static void OnProcessExit(uv_process_t* process, int64_t exit_status, int term_signal);
  void HandleExit(Worker* worker, int term_signal);

  EventLoop* loop_;
  WorkerPoolOptions options_;
  // Where every worker's output goes (declared before workers_, whose forwarders write to them).
  std::unique_ptr<OutputSink> stdout_sink_;
  std::unique_ptr<OutputSink> stderr_sink_;
  WorkerHandler on_ready_;
  WorkerHandler on_exit_;
  std::unordered_map<WorkerID, std::unique_ptr<Worker>> workers_;
  std::deque<Worker*> idle_;
  size_t starting_ = 0;
  size_t consecutive_start_failures_ = 0;
  bool stopped_ = false;
};

}  // namespace rayx
