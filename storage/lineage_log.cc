#include "storage/lineage_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "engine/base/logging.h"
#include "engine/base/signals.h"
#include "storage/rocksdb_key_value_store.h"

namespace rayx {

namespace {

constexpr int kWriterNice = 10;

uint64_t Fnv1a(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

bool Ends(TaskEventInfo::Kind kind) {
  return kind == TaskEventInfo::Kind::kFinished || kind == TaskEventInfo::Kind::kFailed ||
         kind == TaskEventInfo::Kind::kReused;
}

// Counts the forks that made this process (from one with an open log): a log opened before the
// last of them has no writer thread here.
std::atomic<uint64_t> g_forks{0};

// A process forked from one with an open RocksDB database must not run RocksDB's static destructors
// at exit: its periodic-task timer's condition variable had a waiter in the parent (a thread the
// child does not have), and destroying it blocks for ever. So a forked child's exit ends at once,
// after the handlers registered after this one (on_exit handlers run in reverse order) and with
// its status; the parent's exit goes on as usual.
void ExitAtOnceInChild(int status, void*) {
  if (g_forks.load(std::memory_order_relaxed) == 0) return;
  std::fflush(nullptr);
  _exit(status);
}
// The fork handler: async-signal-safe, it only counts. (It registered ExitAtOnceInChild itself
// before, which took glibc's exit-handler lock in the child; another thread of the parent could
// hold that lock at the fork, such as the writer thread opening the database, and the child, a
// worker about to exec, then waited for ever, and uv_spawn with it.)
void InForkedChild() { g_forks.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

void GuardForkedChildExit() {
  if (g_forks.load(std::memory_order_relaxed) == 0) return;
  // Registered last, it runs first at exit: before RocksDB's static destructors.
  on_exit(ExitAtOnceInChild, nullptr);
}

std::string LineageHash(std::string_view bytes) {
  uint64_t halves[2] = {Fnv1a(bytes, 0xcbf29ce484222325ull), Fnv1a(bytes, 0x84222325cbf29ce4ull)};
  return std::string(reinterpret_cast<const char*>(halves), sizeof(halves));
}

int64_t LineageNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Opens (creating) the database at db_path and writes job's record, synced.
StatusOr<std::unique_ptr<LineageStore>> OpenStore(const std::string& db_path, const JobInfo& job) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(db_path).parent_path(), ec);
  if (ec) return IoError("cannot create the directory of the lineage log " + db_path);
  RAYX_ASSIGN_OR_RETURN(std::unique_ptr<KeyValueStore> kv, OpenRocksDbKeyValueStore(db_path));
  auto store = std::make_unique<LineageStore>(std::move(kv));
  LineageBatch batch;
  batch.jobs.push_back(job);
  RAYX_RETURN_IF_ERROR(store->Write(batch, /*sync=*/true));
  return store;
}

void WatchForks() {
  static const int registered = pthread_atfork(nullptr, nullptr, InForkedChild);
  (void)registered;
}

}  // namespace

StatusOr<std::unique_ptr<LineageLog>> LineageLog::Open(const std::string& db_path, JobInfo job,
                                                       Options options) {
  WatchForks();
  RAYX_ASSIGN_OR_RETURN(std::unique_ptr<LineageStore> store, OpenStore(db_path, job));
  return std::unique_ptr<LineageLog>(
      new LineageLog(db_path, std::move(store), std::move(job), options, nullptr));
}

std::unique_ptr<LineageLog> LineageLog::OpenInBackground(
    const std::string& db_path, JobInfo job, Options options,
    std::function<void(const Status&)> on_failure) {
  WatchForks();
  return std::unique_ptr<LineageLog>(
      new LineageLog(db_path, nullptr, std::move(job), options, std::move(on_failure)));
}

LineageLog::LineageLog(std::string db_path, std::unique_ptr<LineageStore> store, JobInfo job,
                       Options options, std::function<void(const Status&)> on_failure)
    : db_path_(std::move(db_path)),
      job_at_open_(job),
      options_(options),
      forks_at_open_(g_forks.load()),
      store_(std::move(store)),
      job_(std::move(job)) {
  writer_ = std::thread([this, on_failure = std::move(on_failure)] {
    BlockProcessSignals();  // They are the main thread's (signals.h); RocksDB's threads inherit.
    if (store_ == nullptr) {
      auto store = OpenStore(db_path_, job_);
      if (!store.ok()) {
        failed_.store(true, std::memory_order_relaxed);
        if (on_failure) on_failure(store.status());
      } else {
        store_ = std::move(store).value();
      }
    }
    Run();
  });
}

LineageLog::~LineageLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void LineageLog::Record(TaskEvent event) {
  if (g_forks.load(std::memory_order_relaxed) != forks_at_open_) return;
  if (failed_.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(event));
}

void LineageLog::RecordFunction(std::string function_id, std::string blob) {
  if (failed_.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(mu_);
  functions_.emplace_back(std::move(function_id), std::move(blob));
}

void LineageLog::Flush() {
  if (g_forks.load(std::memory_order_relaxed) != forks_at_open_) return;  // No writer here.
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t ticket = ++requested_;
  wake_.notify_all();
  written_.wait(lock, [&] { return done_ >= ticket || stopping_; });
}

void LineageLog::FinishJob(int exit_code) {
  if (g_forks.load(std::memory_order_relaxed) != forks_at_open_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_) return;
    finish_ = true;
    exit_code_ = exit_code;
  }
  Flush();
}

void LineageLog::Run() {
  // Background work: the threads that run tasks go first when the cores are busy (a burst of
  // tasks is logged a little later, not run slower).
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kWriterNice);
  using Clock = std::chrono::steady_clock;
  // Swapped with the queue: the node's appends reuse the capacity this thread hands back, so the
  // queue does not grow again from nothing after every batch.
  std::vector<TaskEvent> events;
  events.reserve(4096);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.reserve(4096);
  }
  LineageBatch batch;
  std::unique_lock<std::mutex> lock(mu_);
  auto last_sync = Clock::now();
  bool unsynced = false;      // A write since the last sync.
  uint64_t lost_batches = 0;  // Writes failed in a row.
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.batch_interval_ms),
                   [&] { return stopping_ || requested_ > done_; });
    events.swap(queue_);
    std::vector<std::pair<std::string, std::string>> functions;
    functions.swap(functions_);
    uint64_t ticket = requested_;
    bool stopping = stopping_;
    bool finish = finish_ && !finished_;
    int exit_code = exit_code_;
    lock.unlock();

    bool flush = ticket != done_ || stopping;  // Only this thread writes done_.
    if (store_ == nullptr) events.clear();     // It could not be opened: nothing is written.
    auto now = Clock::now();
    // Every batch reaches the WAL at once (a killed process loses nothing written); it is synced
    // to the disk (surviving a machine's crash) at most sync_interval_ms after.
    bool sync_due = now - last_sync >= std::chrono::milliseconds(options_.sync_interval_ms);
    batch.tasks.clear();
    batch.jobs.clear();
    batch.functions = std::move(functions);
    Apply(events, now, &batch);
    events.clear();
    if (finish || flush || sync_due) AddPending(now, finish || flush, &batch);
    if (store_ != nullptr && (!batch.tasks.empty() || !batch.functions.empty() || finish || flush ||
                              (sync_due && unsynced))) {
      if (finish) {
        job_.end_ms = LineageNowUs() / 1000;
        job_.exit_code = exit_code;
        job_.state = exit_code == 0 ? JobInfo::State::kSucceeded : JobInfo::State::kFailed;
      }
      batch.jobs.push_back(job_);
      bool sync = finish || flush || sync_due;
      if (sync) last_sync = now;
      unsynced = !sync;
      Status s = store_->Write(batch, sync);
      // A full disk fails every batch until space is freed: said when it starts and when it ends,
      // not every 20 ms.
      if (!s.ok() && lost_batches++ == 0) {
        RAYX_LOG(Warning) << "the lineage log " << db_path_ << " cannot write (" << s
                          << "); tasks go on running, but until it can write again they are not "
                             "logged (a replay of this job would run them again)";
      } else if (s.ok() && lost_batches > 0) {
        RAYX_LOG(Warning) << "the lineage log " << db_path_ << " writes again; " << lost_batches
                          << " batches of records were lost";
        lost_batches = 0;
      }
    }

    lock.lock();
    if (finish) finished_ = true;
    done_ = ticket;
    written_.notify_all();
    if (stopping && queue_.empty() && functions_.empty()) return;
  }
}

void LineageLog::Apply(std::vector<TaskEvent>& events, std::chrono::steady_clock::time_point now,
                       LineageBatch* batch) {
  for (TaskEvent& e : events) {
    auto it = live_.find(e.task_id);
    if (it == live_.end()) {
      // An event of a task that ended already, or of one never submitted, would overwrite its
      // record with less: dropped.
      if (e.submitted == nullptr) continue;
      it = live_.try_emplace(e.task_id).first;
      it->second.since = now;
    }
    LiveTask& live = it->second;
    TaskInfo& task = live.info;
    if (e.submitted != nullptr) {
      std::vector<TaskEventInfo> earlier = std::move(task.events);
      task = std::move(*e.submitted);
      task.task_id = e.task_id;
      // A call's name is "Class.method" as its client names it (or the name it was given); only
      // a bare class name gets the method.
      if (!e.method.empty() && task.name.find('.') == std::string::npos) {
        task.name.append(".").append(e.method);
      }
      if (e.format_options) {
        task.options = "max_retries=" + std::to_string(e.max_retries);
        if (e.actor_creation) task.options += " actor_creation";
        if (e.actor_call) task.options += " actor_call";
        if (e.direct) task.options += " direct";
      }
      task.args_hash = LineageHash(e.args_material);
      task.events = std::move(earlier);
    }
    if (e.kind == TaskEventInfo::Kind::kRunning && e.detail.empty() && e.worker_pid != 0)
      e.detail = "worker pid=" + std::to_string(e.worker_pid);
    task.events.push_back(TaskEventInfo{e.kind, e.time_us, std::move(e.detail)});
    switch (e.kind) {
      case TaskEventInfo::Kind::kFinished:
      case TaskEventInfo::Kind::kReused:
        task.state = TaskInfo::State::kFinished;
        task.results_kept = e.results_kept;
        task.results = std::move(e.results);
        ++(e.kind == TaskEventInfo::Kind::kReused ? job_.tasks_reused : job_.tasks_finished);
        break;
      case TaskEventInfo::Kind::kFailed:
        task.state = TaskInfo::State::kFailed;
        ++job_.tasks_failed;
        break;
      default:
        break;
    }
    if (Ends(e.kind)) {
      // Written once, whole, and forgotten; a stale id left in pending_ is skipped there.
      batch->tasks.push_back(std::move(task));
      live_.erase(it);
    } else if (!live.pending) {
      live.pending = true;
      pending_.push_back(e.task_id);
    }
  }
}

void LineageLog::AddPending(std::chrono::steady_clock::time_point now, bool all,
                            LineageBatch* batch) {
  const auto delay = std::chrono::milliseconds(options_.interim_delay_ms);
  size_t kept = 0;
  for (const TaskID& id : pending_) {
    auto it = live_.find(id);
    if (it == live_.end() || !it->second.pending) continue;  // Ended, or listed twice.
    if (!all && now - it->second.since < delay) {
      pending_[kept++] = id;
      continue;
    }
    it->second.pending = false;
    batch->tasks.push_back(it->second.info);  // A copy: the task lives on.
  }
  pending_.resize(kept);
}

}  // namespace rayx
