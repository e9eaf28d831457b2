// The contract of LineageStore, run against both key-value stores: RocksDB and the in-memory twin.
#include "storage/lineage_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "storage/memory_key_value_store.h"
#include "storage/rocksdb_key_value_store.h"

namespace rayx {
namespace {

struct Backend {
  std::string name;
  // Opens the store in dir; opening the same dir again must find what was written (RocksDB), or
  // the backend says it is not durable.
  std::function<std::unique_ptr<KeyValueStore>(const std::string& dir)> open;
  bool durable;
};

class LineageStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-lineage-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    kv_ = GetParam().open(dir_ + "/db");
    ASSERT_NE(kv_, nullptr);
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }

  TaskInfo Task(const JobID& job, uint64_t n, TaskInfo::State state = TaskInfo::State::kFinished) {
    TaskInfo t;
    t.task_id = TaskID::ForChild(job, TaskID::ForDriver(job), n);
    t.name = "step" + std::to_string(n);
    t.function_id = "fn-hash";
    t.args_hash = "args-" + std::to_string(n);
    t.spec = std::string("spec\0bytes", 10);
    t.state = state;
    t.result = state == TaskInfo::State::kFinished ? "result " + std::to_string(n) : "";
    return t;
  }

  std::string dir_;
  std::unique_ptr<KeyValueStore> kv_;
};

TEST_P(LineageStoreContract, JobsTasksAndFunctionsRoundTrip) {
  LineageStore store(std::move(kv_));
  JobID job = JobID::FromInt(7);
  LineageBatch batch;
  JobInfo info;
  info.job_id = job;
  info.script = "/work/train.py";
  info.argv = {"train.py", "--epochs", "3"};
  info.working_dir = "/work";
  info.start_ms = 1234;
  info.state = JobInfo::State::kFailed;
  info.exit_code = 1;
  batch.jobs.push_back(info);
  for (uint64_t i = 0; i < 5; ++i) batch.tasks.push_back(Task(job, i));
  batch.functions.emplace_back("fn-hash", "cloudpickled bytes");
  ASSERT_TRUE(store.Write(batch, /*sync=*/true).ok());

  auto got = store.GetJob(job);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->script, "/work/train.py");
  EXPECT_EQ((*got)->argv, info.argv);
  EXPECT_EQ((*got)->state, JobInfo::State::kFailed);
  EXPECT_EQ((*got)->exit_code, 1);

  auto task = store.GetTask(Task(job, 3).task_id);
  ASSERT_TRUE(task.ok() && task->has_value());
  EXPECT_EQ((*task)->result, "result 3");
  EXPECT_EQ((*task)->spec, std::string("spec\0bytes", 10));

  auto function = store.GetFunction("fn-hash");
  ASSERT_TRUE(function.ok() && function->has_value());
  EXPECT_EQ(**function, "cloudpickled bytes");
  EXPECT_FALSE(store.GetJob(JobID::FromInt(8))->has_value());
  EXPECT_FALSE(store.GetFunction("other")->has_value());
}

TEST_P(LineageStoreContract, TasksAreListedPerJobAndLaterStatesWin) {
  LineageStore store(std::move(kv_));
  JobID a = JobID::FromInt(1), b = JobID::FromInt(2);
  LineageBatch first;
  for (uint64_t i = 0; i < 3; ++i) first.tasks.push_back(Task(a, i, TaskInfo::State::kSubmitted));
  first.tasks.push_back(Task(b, 0));
  ASSERT_TRUE(store.Write(first, false).ok());
  LineageBatch second;
  second.tasks.push_back(Task(a, 1, TaskInfo::State::kFinished));
  ASSERT_TRUE(store.Write(second, false).ok());

  auto tasks = store.TasksOfJob(a);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 3u);
  int finished = 0;
  for (const TaskInfo& t : *tasks) {
    EXPECT_EQ(t.task_id.Job(), a);
    finished += t.state == TaskInfo::State::kFinished;
  }
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(store.TasksOfJob(b)->size(), 1u);
  EXPECT_TRUE(store.TasksOfJob(JobID::FromInt(3))->empty());
}

TEST_P(LineageStoreContract, ACorruptRecordIsAnErrorAloneAndSkippedInListings) {
  JobID job = JobID::FromInt(4);
  TaskInfo good = Task(job, 0), bad = Task(job, 1);
  KeyValueStore* raw = kv_.get();
  LineageStore store(std::move(kv_));
  LineageBatch batch;
  batch.tasks = {good, bad};
  ASSERT_TRUE(store.Write(batch, false).ok());
  // Overwrite the second task's record with garbage under its own key.
  std::string key = "t/" + std::string(job.Binary()) + std::string(bad.task_id.Binary());
  ASSERT_TRUE(raw->Write({{key, "\x07garbage that is no flatbuffer"}}, false).ok());

  EXPECT_EQ(store.GetTask(bad.task_id).status().code(), StatusCode::kProtocolError);
  auto tasks = store.TasksOfJob(job);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->front().task_id, good.task_id);
}

TEST_P(LineageStoreContract, WhatWasWrittenSurvivesReopening) {
  if (!GetParam().durable) GTEST_SKIP() << GetParam().name << " keeps nothing across opens";
  JobID job = JobID::FromInt(9);
  {
    LineageStore store(std::move(kv_));
    LineageBatch batch;
    batch.tasks.push_back(Task(job, 0));
    ASSERT_TRUE(store.Write(batch, /*sync=*/true).ok());
  }
  LineageStore reopened(GetParam().open(dir_ + "/db"));
  auto task = reopened.GetTask(Task(job, 0).task_id);
  ASSERT_TRUE(task.ok() && task->has_value());
  EXPECT_EQ((*task)->result, "result 0");
}

INSTANTIATE_TEST_SUITE_P(
    Backends, LineageStoreContract,
    ::testing::Values(
        Backend{"memory",
                [](const std::string&) { return std::make_unique<MemoryKeyValueStore>(); }, false},
        Backend{"rocksdb",
                [](const std::string& dir) -> std::unique_ptr<KeyValueStore> {
                  auto opened = OpenRocksDbKeyValueStore(dir);
                  return opened.ok() ? std::move(opened).value() : nullptr;
                },
                true}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST(RocksDbKeyValueStoreTest, AnUnusablePathIsAnError) {
  auto opened =
      OpenRocksDbKeyValueStore("/proc/rayx-cannot-create-this");  // /proc takes no new directories.
  EXPECT_FALSE(opened.ok());
}

}  // namespace
}  // namespace rayx
