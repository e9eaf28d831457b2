// LineageStore: every job's lineage, kept so that lost objects can be rebuilt and failed jobs
// replayed (DESIGN.md, "Lineage log"): jobs, tasks with their specs and states, the definitions of
// their functions, and results small enough to keep.
//
// Records are FlatBuffers (storage/records.fbs) under keys that group a job's tasks together:
//   j/<job id>             a job
//   t/<job id><task id>    a task of that job (the task id's last bytes repeat the job id)
//   f/<function id>        a function's serialized definition
// A record that fails verification is corrupt: reading it alone is an error, and listings skip
// it (and log it), so one bad record never hides the rest.
//
// Thread-safe, as its KeyValueStore is.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "storage/key_value_store.h"

namespace rayx {

struct JobInfo {
  enum class State : uint8_t { kRunning = 0, kSucceeded = 1, kFailed = 2 };
  JobID job_id;
  std::string script;
  std::vector<std::string> argv;
  std::string working_dir;
  int64_t start_ms = 0;
  State state = State::kRunning;
  int exit_code = 0;
  std::string uid;  // The id users see: unique per run (job_id restarts at 1 in every node).
  int64_t end_ms = 0;
  int pid = 0;
  std::vector<std::string> env;  // "NAME=value" for PYTHONPATH and VIRTUAL_ENV when set.
  std::string replay_of;         // The uid of the job this one replays, if any.
  int64_t tasks_finished = 0, tasks_failed = 0, tasks_reused = 0;
};

struct TaskEventInfo {
  enum class Kind : uint8_t {
    kSubmitted = 0,
    kRunning = 1,
    kFinished = 2,
    kFailed = 3,
    kRetried = 4,
    kReused = 5
  };
  Kind kind = Kind::kSubmitted;
  int64_t time_us = 0;
  std::string detail;  // The worker, the error, the reason for a retry.
};

struct ResultInfo {
  uint8_t kind = 0;  // engine/wire/values.h ValueKind.
  std::string data;
};

struct TaskInfo {
  enum class State : uint8_t { kSubmitted = 0, kFinished = 1, kFailed = 2 };
  TaskID task_id;
  std::string name;
  std::string function_id;
  std::string args_hash;
  std::string spec;  // The TaskSpec as submitted.
  State state = State::kSubmitted;
  std::string result;  // A finished task's small result; empty when not kept.
  TaskID parent;
  std::string resources;
  std::string options;
  std::vector<TaskEventInfo> events;
  bool results_kept = false;        // results holds every return's value.
  std::vector<ResultInfo> results;  // Kept only when every value was small and held no refs.
};

// One group commit: everything in it is written at once.
struct LineageBatch {
  std::vector<JobInfo> jobs;
  std::vector<TaskInfo> tasks;
  std::vector<std::pair<std::string, std::string>> functions;  // (function id, definition)
};

class LineageStore {
 public:
  explicit LineageStore(std::unique_ptr<KeyValueStore> store) : store_(std::move(store)) {}

  // Writes the batch atomically; with sync it is durable when this returns.
  Status Write(const LineageBatch& batch, bool sync);

  StatusOr<std::optional<JobInfo>> GetJob(const JobID& job_id);
  // Every readable job, in job id order.
  StatusOr<std::vector<JobInfo>> ListJobs();
  StatusOr<std::optional<TaskInfo>> GetTask(const TaskID& task_id);
  // Every readable task of a job, in task id order.
  StatusOr<std::vector<TaskInfo>> TasksOfJob(const JobID& job_id);
  StatusOr<std::optional<std::string>> GetFunction(const std::string& function_id);

 private:
  std::unique_ptr<KeyValueStore> store_;
};

}  // namespace rayx
