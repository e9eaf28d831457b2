#include "storage/lineage_store.h"

#include <flatbuffers/flatbuffers.h>

#include "engine/base/logging.h"
#include "storage/records_generated.h"

namespace rayx {

namespace {

std::string JobKey(const JobID& id) { return "j/" + std::string(id.Binary()); }
std::string TaskKey(const TaskID& id) {
  return "t/" + std::string(id.Job().Binary()) + std::string(id.Binary());
}
std::string FunctionKey(const std::string& id) { return "f/" + id; }

std::string BytesOf(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(v->data()), v->size());
}
std::string StringOf(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}
flatbuffers::Offset<flatbuffers::Vector<uint8_t>> Bytes(flatbuffers::FlatBufferBuilder& b,
                                                        std::string_view s) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
std::string Finished(flatbuffers::FlatBufferBuilder& b) {
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string EncodeJob(const JobInfo& job) {
  flatbuffers::FlatBufferBuilder b(256);
  auto id = Bytes(b, job.job_id.Binary());
  auto script = b.CreateString(job.script);
  auto argv = b.CreateVectorOfStrings(job.argv);
  auto dir = b.CreateString(job.working_dir);
  auto uid = b.CreateString(job.uid);
  auto env = b.CreateVectorOfStrings(job.env);
  auto replay_of = b.CreateString(job.replay_of);
  b.Finish(storage::CreateJobRecord(b, id, script, argv, dir, job.start_ms,
                                    static_cast<storage::JobState>(job.state), job.exit_code, uid,
                                    job.end_ms, job.pid, env, replay_of, job.tasks_finished,
                                    job.tasks_failed, job.tasks_reused));
  return Finished(b);
}

std::string EncodeTask(const TaskInfo& task) {
  // One builder per thread, cleared for each record: no allocation per task once it has grown.
  thread_local flatbuffers::FlatBufferBuilder b(1024);
  b.Clear();
  auto id = Bytes(b, task.task_id.Binary());
  auto name = b.CreateString(task.name);
  auto function_id = Bytes(b, task.function_id);
  auto args_hash = Bytes(b, task.args_hash);
  auto spec = Bytes(b, task.spec);
  auto result = Bytes(b, task.result);
  auto parent = Bytes(b, task.parent.Binary());
  auto resources = b.CreateString(task.resources);
  auto options = b.CreateString(task.options);
  std::vector<flatbuffers::Offset<storage::TaskEvent>> events;
  for (const TaskEventInfo& e : task.events) {
    events.push_back(storage::CreateTaskEvent(b, static_cast<storage::EventKind>(e.kind), e.time_us,
                                              b.CreateString(e.detail)));
  }
  auto event_vector = b.CreateVector(events);
  std::vector<flatbuffers::Offset<storage::ResultValue>> results;
  for (const ResultInfo& r : task.results)
    results.push_back(storage::CreateResultValue(b, r.kind, Bytes(b, r.data)));
  auto result_vector = b.CreateVector(results);
  b.Finish(storage::CreateTaskRecord(
      b, id, name, function_id, args_hash, spec, static_cast<storage::TaskState>(task.state),
      result, parent, resources, options, event_vector, result_vector, task.results_kept));
  return Finished(b);
}

StatusOr<JobInfo> DecodeJob(std::string_view bytes) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!verifier.VerifyBuffer<storage::JobRecord>(nullptr))
    return ProtocolError("corrupt job record");
  const auto* r = flatbuffers::GetRoot<storage::JobRecord>(bytes.data());
  if (r->job_id() == nullptr || r->job_id()->size() != JobID::kSize ||
      r->state() > storage::JobState::MAX) {
    return ProtocolError("corrupt job record");
  }
  JobInfo job;
  job.job_id = JobID::FromBinary(BytesOf(r->job_id()));
  job.script = StringOf(r->script());
  if (r->argv() != nullptr) {
    for (const auto* arg : *r->argv()) job.argv.push_back(StringOf(arg));
  }
  job.working_dir = StringOf(r->working_dir());
  job.start_ms = r->start_ms();
  job.state = static_cast<JobInfo::State>(r->state());
  job.exit_code = r->exit_code();
  job.uid = StringOf(r->uid());
  job.end_ms = r->end_ms();
  job.pid = r->pid();
  if (r->env() != nullptr) {
    for (const auto* var : *r->env()) job.env.push_back(StringOf(var));
  }
  job.replay_of = StringOf(r->replay_of());
  job.tasks_finished = r->tasks_finished();
  job.tasks_failed = r->tasks_failed();
  job.tasks_reused = r->tasks_reused();
  return job;
}

StatusOr<TaskInfo> DecodeTask(std::string_view bytes) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!verifier.VerifyBuffer<storage::TaskRecord>(nullptr))
    return ProtocolError("corrupt task record");
  const auto* r = flatbuffers::GetRoot<storage::TaskRecord>(bytes.data());
  if (r->task_id() == nullptr || r->task_id()->size() != TaskID::kSize ||
      r->state() > storage::TaskState::MAX) {
    return ProtocolError("corrupt task record");
  }
  TaskInfo task;
  task.task_id = TaskID::FromBinary(BytesOf(r->task_id()));
  task.name = StringOf(r->name());
  task.function_id = BytesOf(r->function_id());
  task.args_hash = BytesOf(r->args_hash());
  task.spec = BytesOf(r->spec());
  task.state = static_cast<TaskInfo::State>(r->state());
  task.result = BytesOf(r->result());
  if (r->parent() != nullptr && r->parent()->size() == TaskID::kSize)
    task.parent = TaskID::FromBinary(BytesOf(r->parent()));
  task.resources = StringOf(r->resources());
  task.options = StringOf(r->options());
  if (r->events() != nullptr) {
    for (const auto* e : *r->events()) {
      if (e->kind() > storage::EventKind::MAX) return ProtocolError("corrupt task record");
      task.events.push_back(TaskEventInfo{static_cast<TaskEventInfo::Kind>(e->kind()), e->time_us(),
                                          StringOf(e->detail())});
    }
  }
  if (r->results() != nullptr) {
    for (const auto* v : *r->results())
      task.results.push_back(ResultInfo{v->kind(), BytesOf(v->data())});
  }
  task.results_kept = r->results_kept();
  return task;
}

}  // namespace

Status LineageStore::Write(const LineageBatch& batch, bool sync) {
  std::vector<std::pair<std::string, std::string>> writes;
  writes.reserve(batch.jobs.size() + batch.tasks.size() + batch.functions.size());
  for (const JobInfo& job : batch.jobs) writes.emplace_back(JobKey(job.job_id), EncodeJob(job));
  for (const TaskInfo& task : batch.tasks)
    writes.emplace_back(TaskKey(task.task_id), EncodeTask(task));
  for (const auto& [id, blob] : batch.functions) writes.emplace_back(FunctionKey(id), blob);
  return store_->Write(writes, sync);
}

StatusOr<std::optional<JobInfo>> LineageStore::GetJob(const JobID& job_id) {
  RAYX_ASSIGN_OR_RETURN(auto bytes, store_->Get(JobKey(job_id)));
  if (!bytes.has_value()) return std::optional<JobInfo>();
  RAYX_ASSIGN_OR_RETURN(JobInfo job, DecodeJob(*bytes));
  return std::optional<JobInfo>(std::move(job));
}

StatusOr<std::vector<JobInfo>> LineageStore::ListJobs() {
  std::vector<JobInfo> jobs;
  RAYX_RETURN_IF_ERROR(store_->Scan("j/", [&](std::string_view key, std::string_view value) {
    auto job = DecodeJob(value);
    if (job.ok()) {
      jobs.push_back(std::move(job).value());
    } else {
      RAYX_LOG(Warning) << "skipping a job record: " << job.status();
    }
    return true;
  }));
  return jobs;
}

StatusOr<std::optional<TaskInfo>> LineageStore::GetTask(const TaskID& task_id) {
  RAYX_ASSIGN_OR_RETURN(auto bytes, store_->Get(TaskKey(task_id)));
  if (!bytes.has_value()) return std::optional<TaskInfo>();
  RAYX_ASSIGN_OR_RETURN(TaskInfo task, DecodeTask(*bytes));
  return std::optional<TaskInfo>(std::move(task));
}

StatusOr<std::vector<TaskInfo>> LineageStore::TasksOfJob(const JobID& job_id) {
  std::vector<TaskInfo> tasks;
  std::string prefix = "t/" + std::string(job_id.Binary());
  RAYX_RETURN_IF_ERROR(store_->Scan(prefix, [&](std::string_view key, std::string_view value) {
    auto task = DecodeTask(value);
    if (task.ok()) {
      tasks.push_back(std::move(task).value());
    } else {
      RAYX_LOG(Warning) << "skipping a task record: " << task.status();
    }
    return true;
  }));
  return tasks;
}

StatusOr<std::optional<std::string>> LineageStore::GetFunction(const std::string& function_id) {
  return store_->Get(FunctionKey(function_id));
}

}  // namespace rayx
