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
