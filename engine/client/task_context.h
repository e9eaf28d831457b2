// TaskContext: the task each thread of a process runs, and the ids of what it submits and puts.
//
// Ids are deterministic: the n-th task a task submits, and the n-th object it puts, have the same
// ids on every run. A driver runs its job's driver task; a worker runs the task the node (or an
// owner, for a direct task) last sent it, and the threads of a concurrent actor each run their
// own call (SetCurrentTask is per thread).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/ids.h"

namespace rayx {

class TaskContext {
 public:
  // process_task: the process's own task (the driver's task in a driver, nil in a worker).
  // fallback_job: the job when no task is set (a worker between tasks).
  TaskContext(const TaskID& process_task, const JobID& fallback_job)
      : fallback_job_(fallback_job), process_task_(process_task) {}

  JobID job_id() const;
  // The task the calling thread runs: set per thread by SetCurrentTask, else the process's own.
  TaskID current_task() const;
  // The calling thread now runs task_id (nil: none). Resets the calling thread's submission and
  // put counters; the ids of what it submits and puts derive from task_id. depth is the task's
  // depth in the task tree (0: submitted by a driver); without one, the depth of the last task
  // set with a depth is used (threads of a concurrent actor). attempt tells runs of one task
  // apart (0 for the first, one more per retry or rebuild, as the node counts them; only its low
  // 16 bits count): the tasks each attempt submits get ids of their own, so that a retry's
  // children never collide with those of an attempt that died, which may still be known to the
  // node.
  void SetCurrentTask(const TaskID& task_id, std::optional<uint32_t> depth = std::nullopt,
                      uint32_t attempt = 0);

  // The namespace of the job the calling thread works for, which the tasks it submits carry
  // (protocol.fbs TaskSpec.job_namespace): the calling thread's task's (SetTaskNamespace), else
  // the process's.
  std::string job_namespace() const;
  // The process's namespace: a driver's job's, or an actor's (its creation task's). In an actor's
  // process, SetTaskNamespace is ignored from then on: its calls work for the actor's job.
  void SetProcessNamespace(std::string_view ns, bool actor);
  // The calling thread's task works for a job of this namespace, until its next task.
  void SetTaskNamespace(std::string_view ns);

  // The id of the next task the calling thread submits, and that task's depth.
  TaskID NextTaskId();
  uint32_t ChildDepth() const;
  // The id of the next object the calling thread puts.
  ObjectID NextPutId();

 private:
  const JobID fallback_job_;
  // The depth of the task last set with one; a driver's is 0, so its tasks have depth 1.
  std::atomic<uint32_t> last_depth_{0};

  mutable std::mutex mu_;
  // The process's task, for threads that have none of their own.
  const TaskID process_task_;
  std::string process_namespace_;  // GUARDED_BY(mu_)
  std::atomic<bool> actor_process_{false};
  uint64_t submitted_ = 0;  // GUARDED_BY(mu_)
  uint32_t put_ = 0;        // GUARDED_BY(mu_)
};

}  // namespace rayx
