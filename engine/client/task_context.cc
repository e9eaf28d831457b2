#include "engine/client/task_context.h"

namespace rayx {

namespace {

// The task a thread runs, when SetCurrentTask gave it one. One per thread of the process: a
// process has one client runtime.
struct ThreadTask {
  bool set = false;
  TaskID task;
  uint32_t depth = 0;
  uint64_t attempt = 0;  // In the high bits of the submission counter (see SetCurrentTask).
  uint64_t submitted = 0;
  uint32_t put = 0;
  bool has_namespace = false;  // SetTaskNamespace was called for the thread's task.
  std::string job_namespace;
};
thread_local ThreadTask t_task;

}  // namespace

JobID TaskContext::job_id() const {
  TaskID task = current_task();
  return task.IsNil() ? fallback_job_ : task.Job();
}

TaskID TaskContext::current_task() const {
  if (t_task.set) return t_task.task;
  return process_task_;
}

void TaskContext::SetCurrentTask(const TaskID& task_id, std::optional<uint32_t> depth,
                                 uint32_t attempt) {
  if (depth.has_value()) last_depth_ = *depth;
  t_task.set = !task_id.IsNil();
  t_task.task = task_id;
  t_task.attempt = static_cast<uint64_t>(attempt & 0xffff) << 48;
  t_task.depth = depth.value_or(last_depth_.load());
  t_task.submitted = 0;
  t_task.put = 0;
}

std::string TaskContext::job_namespace() const {
  if (t_task.has_namespace) return t_task.job_namespace;
  std::lock_guard<std::mutex> lock(mu_);
  return process_namespace_;
}

void TaskContext::SetProcessNamespace(std::string_view ns, bool actor) {
  std::lock_guard<std::mutex> lock(mu_);
  process_namespace_ = ns;
  if (actor) actor_process_ = true;
  t_task.has_namespace = false;
}

void TaskContext::SetTaskNamespace(std::string_view ns) {
  if (actor_process_) return;
  t_task.has_namespace = true;
  t_task.job_namespace.assign(ns.data(), ns.size());  // Reuses the thread's buffer.
}

TaskID TaskContext::NextTaskId() {
  if (t_task.set) {
    return TaskID::ForChild(t_task.task.Job(), t_task.task, t_task.attempt + t_task.submitted++);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return TaskID::ForChild(process_task_.Job(), process_task_, submitted_++);
}

uint32_t TaskContext::ChildDepth() const {
  return (t_task.set ? t_task.depth : last_depth_.load()) + 1;
}

ObjectID TaskContext::NextPutId() {
  if (t_task.set) return ObjectID::ForPut(t_task.task, t_task.put++);
  std::lock_guard<std::mutex> lock(mu_);
  return ObjectID::ForPut(process_task_, put_++);
}

}  // namespace rayx
