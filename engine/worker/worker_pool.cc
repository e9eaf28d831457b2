#include "engine/worker/worker_pool.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/base/logging.h"
#include "engine/loop/callback_guard.h"

namespace rayx {

namespace {

// The process handle outlives its Worker when the worker is destroyed before the exit callback, so
// the handle's data points at this small record, not at the Worker.
struct ProcessRecord {
  WorkerPool* pool;
  WorkerID worker_id;
};

void CloseProcessHandle(uv_process_t* process) {
  uv_close(reinterpret_cast<uv_handle_t*>(process), [](uv_handle_t* h) {
    GuardCallback("worker process close callback", [h] {
      delete static_cast<ProcessRecord*>(h->data);
      delete reinterpret_cast<uv_process_t*>(h);
    });
  });
}

}  // namespace

std::string WorkerExecutable() {
  const char* named = std::getenv("RAYX_WORKER_EXECUTABLE");
  return named != nullptr && named[0] != '\0' ? named : "/proc/self/exe";
}

WorkerPool::WorkerPool(EventLoop* loop, WorkerPoolOptions options)
    : loop_(loop), options_(std::move(options)) {
  std::string warning;
  LogDedupOptions dedup = LogDedupOptions::FromEnvironment(&warning);
  if (!warning.empty()) RAYX_LOG(Warning) << warning;
  stdout_sink_ = std::make_unique<OutputSink>(loop_, STDOUT_FILENO, dedup);
  stderr_sink_ = std::make_unique<OutputSink>(loop_, STDERR_FILENO, dedup);
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::SetHandlers(WorkerHandler on_ready, WorkerHandler on_exit) {
  on_ready_ = std::move(on_ready);
  on_exit_ = std::move(on_exit);
}

Status WorkerPool::StartWorker() {
  if (stopped_) return Unavailable("the worker pool is stopped");
  if (workers_.size() >= options_.max_workers) {
    return Unavailable("the node already runs " + std::to_string(workers_.size()) + " workers");
  }
  auto worker = std::make_unique<Worker>();
  worker->id = WorkerID::FromRandom();
  std::string id_hex = worker->id.Hex();
  Worker* raw = worker.get();
  auto prefix = [raw] {
    return "(" + (raw->task_name.empty() ? std::string("worker") : raw->task_name) +
           " pid=" + std::to_string(raw->pid) + ") ";
  };
  worker->stdout_forwarder = std::make_unique<OutputForwarder>(loop_, stdout_sink_.get(), prefix);
  worker->stderr_forwarder = std::make_unique<OutputForwarder>(loop_, stderr_sink_.get(), prefix);

  std::vector<std::string> args = {options_.executable,  "worker",      "--node-socket",
                                   options_.node_socket, "--worker-id", id_hex};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(worker->stdout_forwarder->pipe());
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(worker->stderr_forwarder->pipe());

  uv_process_options_t popts = {};
  popts.file = options_.executable.c_str();
  popts.args = argv.data();
  popts.exit_cb = &WorkerPool::OnProcessExit;
  popts.stdio_count = 3;
  popts.stdio = stdio;

  auto* process = new uv_process_t;
  process->data = new ProcessRecord{this, worker->id};
  int err = uv_spawn(loop_->uv(), process, &popts);
  if (err != 0) {
    // uv_spawn initialised the handle even on failure; it must still be closed.
    CloseProcessHandle(process);
    return IoError(std::string("spawn a worker: ") + uv_strerror(err));
  }
  worker->process = process;
  worker->pid = process->pid;
  worker->stdout_forwarder->Start();
  worker->stderr_forwarder->Start();
  starting_++;
  workers_.emplace(worker->id, std::move(worker));
  return Status::OK();
}

Worker* WorkerPool::Register(const WorkerID& worker_id, std::shared_ptr<Connection> connection) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second->connection != nullptr || it->second->dead) return nullptr;
  Worker* worker = it->second.get();
  worker->connection = std::move(connection);
  starting_--;
  consecutive_start_failures_ = 0;
  PushIdle(worker);
  if (on_ready_) on_ready_(worker);
  return worker;
}

Worker* WorkerPool::PopIdle() {
  while (!idle_.empty()) {
    Worker* worker = idle_.back();  // The most recently used worker is the warmest.
    idle_.pop_back();
    if (!worker->dead) {
      worker->idle = false;
      return worker;
    }
  }
  return nullptr;
}

void WorkerPool::PushIdle(Worker* worker) {
  if (worker->dead || worker->idle) return;
  worker->idle = true;
  idle_.push_back(worker);
}

void WorkerPool::Signal(Worker* worker, int signal) {
  if (worker->dead || worker->process == nullptr) return;
  if (signal == SIGKILL) {
    uv_process_kill(worker->process, signal);
    return;
  }
  // To the main thread (its id is the pid), where Python runs its handlers: sent to the process,
  // the signal could go to another of the worker's threads, and then a task in time.sleep would
  // not wake to see its cancel until the sleep ended. (The pid is not reused yet: the process
  // is not reaped before its exit callback marks the worker dead.)
  pid_t pid = worker->process->pid;
  syscall(SYS_tgkill, pid, pid, signal);
}

void WorkerPool::Disconnect(Worker* worker) {
  if (worker->dead) return;
  // The exit callback completes the worker's death once the process is gone.
  Signal(worker, SIGKILL);
}

// Runs inside GuardCallback. If the exit handling throws (the pool's exit handler, say), it is
// logged and the process handle is closed all the same.
void WorkerPool::OnProcessExit(uv_process_t* process, int64_t exit_status, int term_signal) {
  GuardCallback("worker process exit callback", [&] {
    auto* record = static_cast<ProcessRecord*>(process->data);
    WorkerPool* pool = record->pool;
    Worker* worker = pool == nullptr ? nullptr : pool->Find(record->worker_id);
    if (worker != nullptr) {
      RAYX_LOG(Info) << "worker pid=" << worker->pid << " exited with status " << exit_status
                     << " signal " << term_signal;
      worker->process = nullptr;
      pool->HandleExit(worker, term_signal);
    }
  });
  CloseProcessHandle(process);
}

void WorkerPool::HandleExit(Worker* worker, int term_signal) {
  if (worker->dead) return;
  worker->dead = true;
  if (worker->connection == nullptr) {
    starting_--;
    if (term_signal != SIGKILL) consecutive_start_failures_++;
  }
  idle_.erase(std::remove(idle_.begin(), idle_.end(), worker), idle_.end());
  if (on_exit_ && !stopped_) on_exit_(worker);
  if (worker->connection) worker->connection->Close(Unavailable("worker exited"));
  WorkerID id = worker->id;
  workers_.erase(id);
}

void WorkerPool::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, worker] : workers_) {
    worker->dead = true;
    if (worker->process != nullptr) {
      // SIGKILL ends the process at once; reaping it here leaves no zombie and lets the handle
      // close now, before the loop stops.
      uv_process_kill(worker->process, SIGKILL);
      waitpid(worker->pid, nullptr, 0);
      static_cast<ProcessRecord*>(worker->process->data)->pool = nullptr;
      CloseProcessHandle(worker->process);
      worker->process = nullptr;
    }
    if (worker->connection) worker->connection->Close(Unavailable("node stopping"));
  }
  idle_.clear();
  workers_.clear();  // Their forwarders write out partial last lines.
  stdout_sink_->Flush();
  stderr_sink_->Flush();
}

}  // namespace rayx
