#include "engine/node/lineage_recorder.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "engine/node/session_dirs.h"
#include "engine/wire/values.h"
#include "storage/lineage_catalog.h"

namespace rayx {

namespace {

// Results kept in the log: each value at most this big, inline, holding no references.
constexpr size_t kKeptResultLimit = 64 << 10;
constexpr size_t kDetailLimit = 300;

struct ProcessState {
  std::once_flag once;
  std::unique_ptr<LineageLog> log;
  // Replay: the replayed job's uid, and its finished tasks with kept results.
  std::string replay_of;
  std::unordered_map<TaskID, TaskInfo> logged;
  std::atomic<int64_t> submitted{0};
  std::atomic<int64_t> reused{0};
  std::atomic<bool> finished{false};
};

ProcessState& State() {
  static ProcessState* state = new ProcessState();  // Never destroyed: used at exit.
  return *state;
}

std::vector<std::string> CommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  std::string arg;
  while (std::getline(in, arg, '\0')) argv.push_back(arg);
  return argv;
}

std::string WorkingDir() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string();
}

// The script of a rayx command line: `rayx run SCRIPT`, `rayx run -c CODE`, `rayx SCRIPT`.
std::string ScriptOf(const std::vector<std::string>& argv, const std::string& cwd) {
  size_t i = 1;
  if (i < argv.size() && argv[i] == "run") ++i;
  if (i >= argv.size()) return "";
  if ((argv[i] == "-c" || argv[i] == "-m") && i + 1 < argv.size())
    return argv[i] + " " + argv[i + 1];
  if (!argv[i].empty() && argv[i][0] != '/' && argv[i] != "-") return cwd + "/" + argv[i];
  return argv[i];
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  FillRandom(reinterpret_cast<uint8_t*>(raw.data()), bytes);
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

std::string Cut(std::string s) {
  if (s.size() > kDetailLimit) s.resize(kDetailLimit);
  return s;
}

void Open(const std::function<void(const std::string&)>& report) {
  ProcessState& state = State();
  const char* off = std::getenv("RAYX_LINEAGE");
  if (off != nullptr && std::string(off) == "0") return;
  std::string root = LineageRoot(DataDirectory());
  const char* replay = std::getenv("RAYX_REPLAY_OF");
  if (replay != nullptr && *replay != '\0') {
    state.replay_of = replay;
    auto job = FindLineageJob(root, state.replay_of);
    auto tasks = job.ok() ? LineageTasksOf(*job) : StatusOr<std::vector<TaskInfo>>(job.status());
    if (!tasks.ok()) {
      report("replay: " + tasks.status().ToString() + "; every task runs again");
    } else {
      for (TaskInfo& task : *tasks) {
        if (task.state == TaskInfo::State::kFinished && task.results_kept)
          state.logged.emplace(task.task_id, std::move(task));
      }
    }
    unsetenv("RAYX_REPLAY_OF");  // Not for the processes this one starts.
  }
  std::vector<std::string> errors;
  PruneLineageIfDue(root, RetentionFromEnvironment(), std::chrono::minutes(10), &errors);

  JobInfo job;
  job.job_id = JobID::FromInt(1);  // The first driver of an embedded node.
  job.uid = RandomHex(6);
  job.argv = CommandLine();
  job.working_dir = WorkingDir();
  job.script = ScriptOf(job.argv, job.working_dir);
  job.start_ms = LineageNowUs() / 1000;
  job.pid = getpid();
  for (const char* name : {"PYTHONPATH", "VIRTUAL_ENV"}) {
    const char* value = std::getenv(name);
    if (value != nullptr) job.env.push_back(std::string(name) + "=" + value);
  }
  job.replay_of = state.replay_of;
  std::string path = root + "/" + job.uid;
  // Opening the database takes several fsyncs: the writer thread does it, off the start's path.
  state.log = LineageLog::OpenInBackground(
      path, std::move(job), LineageLog::Options(), [report, path](const Status& status) {
        report("the lineage log " + path + " cannot be opened (" + status.ToString() +
               "); this job runs unlogged");
      });
}

}  // namespace

LineageLog* StartProcessLineage(const std::function<void(const std::string&)>& report) {
  ProcessState& state = State();
  std::call_once(state.once, [&] { Open(report); });
  return state.log.get();
}

LineageLog* ProcessLineage() { return State().log.get(); }

void FinishProcessLineage(int exit_code) {
  ProcessState& state = State();
  if (state.log == nullptr || state.finished.exchange(true)) return;
  state.log->FinishJob(exit_code);
  if (!state.replay_of.empty()) {
    int64_t reused = state.reused.load(), submitted = state.submitted.load();
    std::fprintf(stderr,
                 "rayx replay: job %s (a replay of %s): %lld tasks reused, %lld tasks run; exit "
                 "status %d\n",
                 state.log->job_at_open().uid.c_str(), state.replay_of.c_str(),
                 static_cast<long long>(reused), static_cast<long long>(submitted), exit_code);
  }
}

LineageRecorder::LineageRecorder(LineageLog* log, const ObjectTable* objects)
    : log_(log), objects_(objects) {}

std::string LineageRecorder::ArgsMaterial(const TaskSpec& spec) const {
  std::string material = spec.args;
  for (const ObjectID& id : spec.dependencies) {
    // A task's result is named by the task that made it (its id); a put's by its value.
    material.append(id.Binary());
    if (id.IsPut()) {
      const StoredValue* value = objects_->Get(id);
      if (value != nullptr && !value->in_shm) material.append(LineageHash(value->inline_data));
    }
  }
  return material;
}

void LineageRecorder::Submitted(const TaskSpec& spec, bool from_driver) {
  if (log_ == nullptr) return;
  State().submitted.fetch_add(1, std::memory_order_relaxed);
  TaskEvent e;
  e.kind = TaskEventInfo::Kind::kSubmitted;
  e.task_id = spec.task_id;
  e.time_us = LineageNowUs();
  e.submitted = std::make_unique<TaskInfo>();
  TaskInfo& info = *e.submitted;
  info.name = spec.name;
  if (spec.is_actor_call()) e.method = spec.method;
  info.function_id = spec.function_id;
  if (!spec.parent.IsNil()) {
    info.parent = spec.parent;
  } else if (from_driver) {
    info.parent = TaskID::ForDriver(spec.task_id.Job());
  }
  if (!spec.is_actor_call()) {
    if (last_resources_text_.empty() || !(spec.resources == last_resources_)) {
      last_resources_ = spec.resources;
      last_resources_text_ = spec.resources.ToString();
    }
    info.resources = last_resources_text_;
  }
  e.format_options = true;  // The writer formats the name and options.
  e.max_retries = spec.max_retries;
  e.actor_creation = spec.actor_creation;
  e.actor_call = spec.is_actor_call();
  e.direct = spec.is_direct();
  e.args_material = ArgsMaterial(spec);
  log_->Record(std::move(e));
}

void LineageRecorder::FunctionExported(const std::string& function_id, const std::string& blob) {
  if (log_ != nullptr) log_->RecordFunction(function_id, blob);
}

void LineageRecorder::Started(const TaskID& id, int worker_pid) {
  if (log_ == nullptr) return;
  TaskEvent e;
  e.kind = TaskEventInfo::Kind::kRunning;
  e.task_id = id;
  e.time_us = LineageNowUs();
  e.worker_pid = worker_pid;  // Formatted by the writer.
  log_->Record(std::move(e));
}

void LineageRecorder::Finished(const TaskID& id, const std::vector<StoredValue>& results) {
  if (log_ == nullptr) return;
  TaskEvent e;
  e.kind = TaskEventInfo::Kind::kFinished;
  e.task_id = id;
  e.time_us = LineageNowUs();
  e.results_kept = true;
  for (const StoredValue& v : results) {
    if (v.in_shm || v.inline_data.size() > kKeptResultLimit || !v.contained.empty() ||
        !v.contained_actors.empty()) {
      e.results_kept = false;
      e.results.clear();
      break;
    }
    e.results.push_back(ResultInfo{static_cast<uint8_t>(v.kind), v.inline_data});
  }
  log_->Record(std::move(e));
}

void LineageRecorder::Failed(const TaskID& id, const StoredValue& error) {
  if (log_ == nullptr) return;
  TaskEvent e;
  e.kind = TaskEventInfo::Kind::kFailed;
  e.task_id = id;
  e.time_us = LineageNowUs();
  e.detail = error.kind == ValueKind::kSystemError ? Cut(error.inline_data) : "task error";
  log_->Record(std::move(e));
}

void LineageRecorder::Retried(const TaskID& id, const std::string& why) {
  if (log_ == nullptr) return;
  TaskEvent e;
  e.kind = TaskEventInfo::Kind::kRetried;
  e.task_id = id;
  e.time_us = LineageNowUs();
  e.detail = Cut(why);
  log_->Record(std::move(e));
}

bool LineageRecorder::replaying() const { return log_ != nullptr && !State().replay_of.empty(); }

std::optional<std::vector<StoredValue>> LineageRecorder::Reuse(const TaskSpec& spec) {
  if (!replaying() || !spec.actor_id.IsNil() || spec.actor_creation) return std::nullopt;
  ProcessState& state = State();
  auto it = state.logged.find(spec.task_id);
  if (it == state.logged.end()) return std::nullopt;
  const TaskInfo& logged = it->second;
  std::string material = ArgsMaterial(spec);
  if (logged.function_id != spec.function_id || logged.args_hash != LineageHash(material) ||
      logged.results.size() != spec.num_returns) {
    return std::nullopt;
  }
  std::vector<StoredValue> values;
  for (const ResultInfo& r : logged.results) {
    if (r.kind != static_cast<uint8_t>(ValueKind::kValue)) return std::nullopt;
    StoredValue v;
    v.kind = ValueKind::kValue;
    v.inline_data = r.data;
    values.push_back(std::move(v));
  }
  state.reused.fetch_add(1, std::memory_order_relaxed);
  // Logged as a task of this job that was reused, with the same results (a replay of this replay
  // reuses them too).
  TaskEvent submitted;
  submitted.kind = TaskEventInfo::Kind::kSubmitted;
  submitted.task_id = spec.task_id;
  submitted.time_us = LineageNowUs();
  submitted.submitted = std::make_unique<TaskInfo>();
  submitted.submitted->name = logged.name;
  submitted.submitted->function_id = spec.function_id;
  submitted.submitted->parent = logged.parent;
  submitted.submitted->resources = logged.resources;
  submitted.submitted->options = logged.options;
  submitted.args_material = std::move(material);
  log_->Record(std::move(submitted));
  TaskEvent reused;
  reused.kind = TaskEventInfo::Kind::kReused;
  reused.task_id = spec.task_id;
  reused.time_us = LineageNowUs();
  reused.detail = "from job " + state.replay_of;
  reused.results_kept = true;
  reused.results = logged.results;
  log_->Record(std::move(reused));
  return values;
}

}  // namespace rayx
