#include "cli/timeline_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "cli/lineage_text.h"
#include "storage/lineage_catalog.h"

namespace rayx::cli {
namespace {

constexpr int kReusedRow = 0;  // Tasks reused from a replayed job's log.

struct TimelineFlags {
  std::string uid;
  std::string output;
};

// The row of a worker: its pid, parsed from "worker pid=N".
int RowOf(const std::string& detail) {
  size_t eq = detail.find("pid=");
  return eq == std::string::npos ? -1 : std::atoi(detail.c_str() + eq + 4);
}

std::string Event(const std::string& name, const char* ph, int64_t ts, int64_t dur, int tid,
                  const std::string& args, const char* cname) {
  std::string e = "{\"name\": " + JsonString(name) + ", \"cat\": \"task\", \"ph\": \"" + ph +
                  "\", \"ts\": " + std::to_string(ts) +
                  ", \"pid\": 1, \"tid\": " + std::to_string(tid);
  if (std::string(ph) == "X") e += ", \"dur\": " + std::to_string(dur);
  if (std::string(ph) == "i") e += ", \"s\": \"t\"";
  if (cname != nullptr) e += ", \"cname\": \"" + std::string(cname) + "\"";
  return e + ", \"args\": " + args + "}";
}

void Timeline(const TimelineFlags& flags) {
  auto found = FindLineageJob(MachineLineageRoot(), flags.uid);
  auto tasks =
      found.ok() ? LineageTasksOf(*found) : StatusOr<std::vector<TaskInfo>>(found.status());
  if (!tasks.ok()) {
    std::fprintf(stderr, "rayx timeline: %s\n", tasks.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  std::string json = TimelineJson(*tasks);
  if (flags.output.empty() || flags.output == "-") {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return;
  }
  std::ofstream out(flags.output, std::ios::binary | std::ios::trunc);
  out << json;
  out.close();
  if (!out) {
    std::fprintf(stderr, "rayx timeline: cannot write %s\n", flags.output.c_str());
    throw CLI::RuntimeError(1);
  }
  std::fprintf(stderr, "rayx timeline: %zu tasks of job %s written to %s\n", tasks->size(),
               flags.uid.c_str(), flags.output.c_str());
}

}  // namespace

std::string TimelineJson(const std::vector<TaskInfo>& tasks) {
  std::vector<std::string> events;
  std::map<int, std::string> rows;
  for (const TaskInfo& task : tasks) {
    std::string id_arg = "{\"task_id\": \"" + task.task_id.Hex() + "\"";
    if (!task.parent.IsNil()) id_arg += ", \"parent\": \"" + task.parent.Hex() + "\"";
    int64_t started = -1;
    int row = -1;
    for (const TaskEventInfo& e : task.events) {
      switch (e.kind) {
        case TaskEventInfo::Kind::kRunning:
          started = e.time_us;
          row = RowOf(e.detail);
          if (row >= 0) rows.emplace(row, e.detail);
          break;
        case TaskEventInfo::Kind::kFinished:
        case TaskEventInfo::Kind::kFailed:
        case TaskEventInfo::Kind::kRetried: {
          if (started < 0) break;  // Never seen running (failed before it ran).
          bool ok = e.kind == TaskEventInfo::Kind::kFinished;
          std::string args = id_arg + ", \"state\": \"" +
                             (ok                                       ? "finished"
                              : e.kind == TaskEventInfo::Kind::kFailed ? "failed"
                                                                       : "retried") +
                             "\"";
          if (!ok) args += ", \"error\": " + JsonString(e.detail);
          events.push_back(Event(task.name, "X", started, std::max<int64_t>(0, e.time_us - started),
                                 row, args + "}", ok ? nullptr : "terrible"));
          started = -1;
          break;
        }
        case TaskEventInfo::Kind::kReused:
          rows.emplace(kReusedRow, "reused from the log");
          events.push_back(
              Event(task.name, "i", e.time_us, 0, kReusedRow,
                    id_arg + ", \"state\": \"reused\", \"from\": " + JsonString(e.detail) + "}",
                    nullptr));
          break;
        case TaskEventInfo::Kind::kSubmitted:
          break;
      }
    }
  }
  std::string out = "[";
  bool first = true;
  for (const auto& [row, name] : rows) {
    out +=
        std::string(first ? "\n" : ",\n") +
        "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": " + std::to_string(row) +
        ", \"args\": {\"name\": " + JsonString(name) + "}}";
    first = false;
  }
  for (const std::string& e : events) {
    out += (first ? "\n" : ",\n") + e;
    first = false;
  }
  return out + "\n]\n";
}

void AddTimelineCommand(CLI::App* app) {
  auto flags = std::make_shared<TimelineFlags>();
  CLI::App* timeline = app->add_subcommand(
      "timeline",
      "Write a logged job's tasks as Chrome trace events (Perfetto, chrome://tracing).");
  timeline->add_option("JOB_ID", flags->uid, "A job id from `rayx jobs`.")->required();
  timeline->add_option("-o", flags->output, "The file to write (default: standard output).");
  timeline->callback([flags]() { Timeline(*flags); });
}

}  // namespace rayx::cli
