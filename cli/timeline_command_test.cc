// The timeline's JSON: rows per worker, complete events with durations, failures and reuses.
#include "cli/timeline_command.h"

#include <gtest/gtest.h>

namespace rayx::cli {
namespace {

TaskInfo Task(uint64_t n, std::vector<TaskEventInfo> events) {
  TaskInfo t;
  t.task_id = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), n);
  t.name = "step" + std::to_string(n);
  t.events = std::move(events);
  return t;
}

TEST(TimelineJsonTest, TasksBecomeCompleteEventsOnTheirWorkersRows) {
  using K = TaskEventInfo::Kind;
  std::vector<TaskInfo> tasks = {
      Task(
          0,
          {{K::kSubmitted, 100, ""}, {K::kRunning, 150, "worker pid=42"}, {K::kFinished, 400, ""}}),
      Task(1, {{K::kSubmitted, 100, ""},
               {K::kRunning, 500, "worker pid=43"},
               {K::kFailed, 900, "boom \"x\""}}),
      Task(2, {{K::kSubmitted, 100, ""}, {K::kReused, 120, "from job abc"}}),
      Task(3, {{K::kSubmitted, 100, ""}}),  // Never ran: no event.
  };
  std::string json = TimelineJson(tasks);
  EXPECT_EQ(json.front(), '[');
  EXPECT_NE(json.find("{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 42, "
                      "\"args\": {\"name\": \"worker pid=42\"}}"),
            std::string::npos)
      << json;
  EXPECT_NE(
      json.find("\"name\": \"step0\", \"cat\": \"task\", \"ph\": \"X\", \"ts\": 150, \"pid\": "
                "1, \"tid\": 42, \"dur\": 250"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find("\"tid\": 43, \"dur\": 400, \"cname\": \"terrible\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"error\": \"boom \\\"x\\\"\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\": \"step2\", \"cat\": \"task\", \"ph\": \"i\""), std::string::npos)
      << json;
  EXPECT_EQ(json.find("step3"), std::string::npos) << json;
}

}  // namespace
}  // namespace rayx::cli
