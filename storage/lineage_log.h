// LineageLog: the writing end of one node's lineage database (DESIGN.md, "Lineage log").
//
// The node reports each task's state changes with Record, which only appends to a queue: no disk
// I/O, no hashing, one uncontended lock. A writer thread takes what queued every batch interval
// (20 ms by default) and commits it in one RocksDB write (a group commit): a record is in the WAL,
// safe from the process's death, within about one batch interval of its Record, and synced to the
// disk, safe from the machine's crash, within the sync interval (100 ms), never one fsync per
// task. Flush and FinishJob sync.
// The writer keeps the tasks that have not ended in memory so that each write holds a task's whole
// record; an ended task's record is written and forgotten. A task that has not ended is written
// only once it has lived interim_delay_ms (then with each sync while it changes), so that the
// many tasks that end sooner are written once: a task that is still running reaches the log
// within about interim_delay_ms + sync_interval_ms of its submission, an ended one within a batch
// interval of its end.
//
// The job's record is written (synced) by Open, its counters with every batch, and its end by
// FinishJob. A driver killed before FinishJob leaves its job RUNNING in a database whose LOCK no
// process holds any more; readers (lineage_catalog.h) show such a job as FAILED.
//
// Thread-safe: Record, Flush and FinishJob may be called from any thread. In a process forked
// from the writer's (which has no writer thread) they do nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "storage/lineage_store.h"

namespace rayx {

// One state change of a task, as the node reports it.
struct TaskEvent {
  TaskEventInfo::Kind kind = TaskEventInfo::Kind::kSubmitted;
  TaskID task_id;
  int64_t time_us = 0;
  std::string detail;
  // kRunning: the worker's process, written as the detail "worker pid=N" when detail is empty.
  int worker_pid = 0;
  // kSubmitted: the task's description (its args_hash is left empty), and what its argument hash
  // is made from (hashed by the writer thread).
  std::unique_ptr<TaskInfo> submitted;
  std::string args_material;
  // kSubmitted, formatted by the writer: an actor call's method (its name is "name.method"), and
  // with format_options, submitted->options from these.
  std::string method;
  bool format_options = false;
  int max_retries = 0;
  bool actor_creation = false, actor_call = false, direct = false;
  // kFinished and kReused: the results, when they are kept.
  bool results_kept = false;
  std::vector<ResultInfo> results;
};

// The hash that names a task's arguments in the log: 16 bytes, stable across processes and builds.
std::string LineageHash(std::string_view bytes);

int64_t LineageNowUs();

// In a child forked from this process that goes on without exec (os.fork in Python: the embedding
// calls it from an os.register_at_fork hook): makes the child's exit skip RocksDB's static
// destructors, which would wait for ever for a thread the child does not have. Outside the fork
// handler, so that it never runs in a child about to exec (a worker being spawned).
void GuardForkedChildExit();

class LineageLog {
 public:
  struct Options {
    int batch_interval_ms = 20;
    int sync_interval_ms = 100;  // fsync at most this long after a batch's write.
    int interim_delay_ms = 100;  // A task not ended is written once it has lived this long.
  };
  // Opens (creating) the database at db_path and writes job's record, synced.
  static StatusOr<std::unique_ptr<LineageLog>> Open(const std::string& db_path, JobInfo job,
                                                    Options options);
  static StatusOr<std::unique_ptr<LineageLog>> Open(const std::string& db_path, JobInfo job) {
    return Open(db_path, std::move(job), Options());
  }
  // Like Open, but returns at once, before the disk is touched (opening takes several fsyncs): the
  // writer thread opens the database and writes the job's record before anything recorded. When
  // that fails, on_failure is called on the writer thread and the log drops what is recorded.
  static std::unique_ptr<LineageLog> OpenInBackground(
      const std::string& db_path, JobInfo job, Options options,
      std::function<void(const Status&)> on_failure);
  ~LineageLog();  // Writes what is queued, then closes the database.

  void Record(TaskEvent event);
  // A function's serialized definition, by its id (a content hash).
  void RecordFunction(std::string function_id, std::string blob);
  // Returns once everything recorded before the call is on disk.
  void Flush();
  // Records the job's end (SUCCEEDED for exit code 0, else FAILED) and flushes. Later calls are
  // ignored.
  void FinishJob(int exit_code);

  const JobInfo& job_at_open() const { return job_at_open_; }
  const std::string& db_path() const { return db_path_; }

 private:
  // Without a store, the writer thread opens it first (OpenInBackground).
  LineageLog(std::string db_path, std::unique_ptr<LineageStore> store, JobInfo job, Options options,
             std::function<void(const Status&)> on_failure);
  void Run();
  struct LiveTask {
    TaskInfo info;
    std::chrono::steady_clock::time_point since;  // When its first event was applied.
    bool pending = false;  // Changed since it was last written; its id is in pending_.
  };
  // Applies events to the live tasks and adds the ended ones to batch. Writer thread only.
  void Apply(std::vector<TaskEvent>& events, std::chrono::steady_clock::time_point now,
             LineageBatch* batch);
  // Adds to batch the pending tasks that have lived interim_delay_ms, or all with all.
  void AddPending(std::chrono::steady_clock::time_point now, bool all, LineageBatch* batch);

  const std::string db_path_;
  const JobInfo job_at_open_;
  const Options options_;
  const uint64_t forks_at_open_;         // See InForkedChild.
  std::unique_ptr<LineageStore> store_;  // Set before the writer runs, or by it: its own.
  std::atomic<bool> failed_{false};      // The store could not be opened.

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<TaskEvent> queue_;                                // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, std::string>> functions_;  // GUARDED_BY(mu_)
  uint64_t requested_ = 0;  // GUARDED_BY(mu_): flushes asked for.
  uint64_t done_ = 0;       // GUARDED_BY(mu_): flushes done.
  bool stopping_ = false;   // GUARDED_BY(mu_)
  bool finish_ = false;     // GUARDED_BY(mu_)
  bool finished_ = false;   // GUARDED_BY(mu_)
  int exit_code_ = 0;       // GUARDED_BY(mu_)

  // Writer thread only.
  JobInfo job_;
  std::unordered_map<TaskID, LiveTask> live_;
  std::vector<TaskID> pending_;  // Live tasks not written since they changed, oldest first.
  std::thread writer_;
};

}  // namespace rayx
