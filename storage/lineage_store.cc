#include "storage/lineage_store.h"

#include <flatbuffers/flatbuffers.h>

#include <cstdint>

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

// Appends task's record to out. Empty fields are left out (readers take a missing field as empty).
void EncodeTaskInto(const TaskInfo& task, std::string* out) {
  // One builder per thread, cleared for each record: no allocation per task once it has grown.
  thread_local flatbuffers::FlatBufferBuilder b(1024);
  thread_local std::vector<flatbuffers::Offset<storage::TaskEvent>> events;
  thread_local std::vector<flatbuffers::Offset<storage::ResultValue>> results;
  b.Clear();
  events.clear();
  results.clear();
  auto bytes = [](flatbuffers::FlatBufferBuilder& b, std::string_view s) {
    return s.empty() ? flatbuffers::Offset<flatbuffers::Vector<uint8_t>>() : Bytes(b, s);
  };
  auto text = [](flatbuffers::FlatBufferBuilder& b, const std::string& s) {
    return s.empty() ? flatbuffers::Offset<flatbuffers::String>() : b.CreateString(s);
  };
  auto id = Bytes(b, task.task_id.Binary());
  auto name = text(b, task.name);
  auto function_id = bytes(b, task.function_id);
  auto args_hash = bytes(b, task.args_hash);
  auto spec = bytes(b, task.spec);
  auto result = bytes(b, task.result);
  auto parent = task.parent.IsNil() ? flatbuffers::Offset<flatbuffers::Vector<uint8_t>>()
                                    : Bytes(b, task.parent.Binary());
  auto resources = text(b, task.resources);
  auto options = text(b, task.options);
  for (const TaskEventInfo& e : task.events) {
    events.push_back(storage::CreateTaskEvent(b, static_cast<storage::EventKind>(e.kind), e.time_us,
                                              text(b, e.detail)));
  }
  auto event_vector = b.CreateVector(events);
  for (const ResultInfo& r : task.results)
    results.push_back(storage::CreateResultValue(b, r.kind, Bytes(b, r.data)));
  auto result_vector =
      results.empty()
          ? flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<storage::ResultValue>>>()
          : b.CreateVector(results);
  b.Finish(storage::CreateTaskRecord(
      b, id, name, function_id, args_hash, spec, static_cast<storage::TaskState>(task.state),
      result, parent, resources, options, event_vector, result_vector, task.results_kept));
  out->append(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// RocksDB hands out a scanned value at any address, and a FlatBuffers record is read with 4-byte
// loads: a value that is not aligned is read from an aligned copy (found under UBSan).
std::string_view Aligned(std::string_view bytes, std::string* copy) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(flatbuffers::uoffset_t) == 0)
    return bytes;
  copy->assign(bytes.data(), bytes.size());
  return *copy;
}

StatusOr<JobInfo> DecodeJob(std::string_view unaligned) {
  std::string copy;
  std::string_view bytes = Aligned(unaligned, &copy);
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

StatusOr<TaskInfo> DecodeTask(std::string_view unaligned) {
  std::string copy;
  std::string_view bytes = Aligned(unaligned, &copy);
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
  // Every key and value is appended to one buffer, reused from batch to batch, and passed as views:
  // no allocation per record.
  thread_local std::string arena;
  thread_local std::vector<size_t> ends;  // Where each key, then its value, ends in arena.
  arena.clear();
  ends.clear();
  auto end = [&] { ends.push_back(arena.size()); };
  for (const JobInfo& job : batch.jobs) {
    arena.append(JobKey(job.job_id));
    end();
    arena.append(EncodeJob(job));
    end();
  }
  for (const TaskInfo& task : batch.tasks) {
    arena.append("t/");
    arena.append(task.task_id.Job().Binary());
    arena.append(task.task_id.Binary());
    end();
    EncodeTaskInto(task, &arena);
    end();
  }
  for (const auto& [id, blob] : batch.functions) {
    arena.append(FunctionKey(id));
    end();
    arena.append(blob);
    end();
  }
  std::vector<std::pair<std::string_view, std::string_view>> writes;
  writes.reserve(ends.size() / 2);
  size_t start = 0;
  for (size_t i = 0; i + 1 < ends.size(); i += 2) {
    writes.emplace_back(std::string_view(arena.data() + start, ends[i] - start),
                        std::string_view(arena.data() + ends[i], ends[i + 1] - ends[i]));
    start = ends[i + 1];
  }
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
