// The lineage log's writer (group commit, job records, crash safety) and the catalog that readers
// use (listing, dead writers, retention, unreadable databases).
#include "storage/lineage_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "storage/lineage_catalog.h"
#include "storage/rocksdb_key_value_store.h"

namespace rayx {
namespace {

class LineageLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-lineage-log-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    root_ = dir_ + "/lineage";
  }
  // Not root_/..: rm refuses a path that ends in "..", and each run left its logs behind.
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }

  static JobInfo Job(const std::string& uid, int64_t start_ms) {
    JobInfo job;
    job.job_id = JobID::FromInt(1);
    job.uid = uid;
    job.script = "/work/job.py";
    job.argv = {"rayx", "run", "/work/job.py"};
    job.start_ms = start_ms;
    job.pid = getpid();
    return job;
  }
  static TaskEvent Submitted(uint64_t n) {
    TaskEvent e;
    e.task_id = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), n);
    e.kind = TaskEventInfo::Kind::kSubmitted;
    e.time_us = LineageNowUs();
    e.submitted = std::make_unique<TaskInfo>();
    e.submitted->name = "step";
    e.submitted->function_id = "fn";
    e.args_material = "args " + std::to_string(n);
    return e;
  }
  static TaskEvent Ended(uint64_t n, TaskEventInfo::Kind kind) {
    TaskEvent e;
    e.task_id = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), n);
    e.kind = kind;
    e.time_us = LineageNowUs();
    if (kind == TaskEventInfo::Kind::kFinished) {
      e.results_kept = true;
      e.results.push_back(ResultInfo{0, "value " + std::to_string(n)});
    } else {
      e.detail = "RuntimeError";
    }
    return e;
  }
  // Writes n finished tasks and one failed one through log.
  static void WriteTasks(LineageLog* log, uint64_t first, uint64_t n) {
    for (uint64_t i = first; i < first + n; ++i) {
      log->Record(Submitted(i));
      TaskEvent running;
      running.task_id = Submitted(i).task_id;
      running.kind = TaskEventInfo::Kind::kRunning;
      running.detail = "worker 1";
      log->Record(std::move(running));
      log->Record(Ended(i, TaskEventInfo::Kind::kFinished));
    }
  }

  std::string dir_;  // The test's own directory under /tmp.
  std::string root_;
};

TEST_F(LineageLogTest, TasksAndTheJobAreReadableWhileTheWriterRunsAndAfter) {
  auto log = LineageLog::Open(root_ + "/a", Job("a", 1));
  ASSERT_TRUE(log.ok()) << log.status();
  WriteTasks(log->get(), 0, 100);
  (*log)->Record(Submitted(100));
  (*log)->Record(Ended(100, TaskEventInfo::Kind::kFailed));
  (*log)->Flush();

  std::vector<std::string> errors;
  auto jobs = ListLineageJobs(root_, &errors);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(jobs[0].writer_alive);
  EXPECT_EQ(jobs[0].job.state, JobInfo::State::kRunning);
  EXPECT_EQ(jobs[0].job.tasks_finished, 100);
  EXPECT_EQ(jobs[0].job.tasks_failed, 1);
  auto tasks = LineageTasksOf(jobs[0]);
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 101u);
  const TaskInfo& t = tasks->front();
  EXPECT_EQ(t.state, TaskInfo::State::kFinished);
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[1].detail, "worker 1");
  ASSERT_TRUE(t.results_kept);
  EXPECT_EQ(t.args_hash.size(), 16u);

  (*log)->FinishJob(0);
  log->reset();
  auto ended = FindLineageJob(root_, "a");
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->job.state, JobInfo::State::kSucceeded);
  EXPECT_FALSE(ended->writer_alive);
  EXPECT_GT(ended->job.end_ms, 0);
}

TEST_F(LineageLogTest, AJobWhoseDriverDiedReadsFailed) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto log = LineageLog::Open(root_ + "/dead", Job("dead", 1));
    if (!log.ok()) _exit(2);
    WriteTasks(log->get(), 0, 3);
    (*log)->Flush();
    _exit(0);  // No FinishJob, no destructor: as a kill would leave it.
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto job = FindLineageJob(root_, "dead");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->job.state, JobInfo::State::kFailed);
  EXPECT_EQ(LineageTasksOf(*job)->size(), 3u);
}

// A writer killed with SIGKILL at a random moment, 50 times: every time the database opens again
// (as the next start would, read-write) and everything in it reads.
TEST_F(LineageLogTest, AWriterKilledAtAnyMomentLeavesAReadableLog) {
  std::mt19937 random(42);
  for (int round = 0; round < 50; ++round) {
    std::string db = root_ + "/crash" + std::to_string(round % 5);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto log = LineageLog::Open(db, Job("crash" + std::to_string(round), round),
                                  LineageLog::Options{/*batch_interval_ms=*/1});
      if (!log.ok()) _exit(2);
      for (uint64_t i = 0;; i += 50) WriteTasks(log->get(), i, 50);
    }
    usleep(std::uniform_int_distribution<int>(0, 60000)(random));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (WIFEXITED(status)) ASSERT_NE(WEXITSTATUS(status), 2) << "round " << round;
    {
      auto reopened = OpenRocksDbKeyValueStore(db);
      ASSERT_TRUE(reopened.ok()) << "round " << round << ": " << reopened.status();
      LineageStore store(std::move(reopened).value());
      ASSERT_TRUE(store.ListJobs().ok()) << "round " << round;
      auto tasks = store.TasksOfJob(JobID::FromInt(1));
      ASSERT_TRUE(tasks.ok()) << "round " << round << ": " << tasks.status();
    }
    std::vector<std::string> errors;
    ListLineageJobs(root_, &errors);
    EXPECT_TRUE(errors.empty()) << "round " << round << ": " << errors.front();
  }
}

TEST_F(LineageLogTest, PruningKeepsTheNewestAndRecentJobs) {
  for (int i = 0; i < 5; ++i) {
    auto log = LineageLog::Open(root_ + "/j" + std::to_string(i), Job("j" + std::to_string(i), i));
    ASSERT_TRUE(log.ok());
    (*log)->FinishJob(0);
  }
  std::vector<std::string> errors;
  RetentionPolicy policy;
  policy.keep_jobs = 5;
  EXPECT_FALSE(LineageMayNeedPruning(root_, policy));
  policy.keep_jobs = 2;
  EXPECT_TRUE(LineageMayNeedPruning(root_, policy));
  EXPECT_EQ(PruneLineage(root_, policy, &errors), 3u);
  EXPECT_FALSE(LineageMayNeedPruning(root_, policy));
  auto jobs = ListLineageJobs(root_, &errors);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job.uid, "j3");
  EXPECT_EQ(jobs[1].job.uid, "j4");
  policy.keep_jobs = 100;
  policy.keep_days = 0;  // Everything that ended before now goes.
  usleep(2000);
  EXPECT_EQ(PruneLineage(root_, policy, &errors), 2u);
  EXPECT_TRUE(ListLineageJobs(root_, &errors).empty());
  EXPECT_TRUE(errors.empty());
}

// A byte budget removes the oldest ended jobs once the newest ones fill it; the newest ended job
// stays even when it alone is over the budget (it is the one a user replays).
TEST_F(LineageLogTest, PruningKeepsTheNewestJobsThatFitTheByteBudget) {
  std::vector<std::string> dirs;
  for (int i = 0; i < 4; ++i) {
    dirs.push_back(root_ + "/j" + std::to_string(i));
    auto log = LineageLog::Open(dirs.back(), Job("j" + std::to_string(i), i));
    ASSERT_TRUE(log.ok());
    (*log)->FinishJob(0);
  }
  // Each database grows by a 1 MiB file of its own (the pruner counts every file's bytes).
  for (const std::string& dir : dirs) std::ofstream(dir + "/padding") << std::string(1 << 20, 'x');
  std::vector<std::string> errors;
  RetentionPolicy policy;
  policy.keep_bytes = 64ull << 20;
  EXPECT_FALSE(LineageMayNeedPruning(root_, policy));
  policy.keep_bytes = (5ull << 20) / 2;  // Room for two of them.
  EXPECT_TRUE(LineageMayNeedPruning(root_, policy));
  EXPECT_EQ(PruneLineage(root_, policy, &errors), 2u);
  auto jobs = ListLineageJobs(root_, &errors);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job.uid, "j2");
  EXPECT_EQ(jobs[1].job.uid, "j3");
  policy.keep_bytes = 1;  // Less than any job: the newest stays all the same.
  EXPECT_EQ(PruneLineage(root_, policy, &errors), 1u);
  jobs = ListLineageJobs(root_, &errors);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job.uid, "j3");
  EXPECT_FALSE(LineageMayNeedPruning(root_, policy));
  EXPECT_TRUE(errors.empty());
}

TEST_F(LineageLogTest, AnUnreadableDatabaseIsAnErrorNamingItsPathAndHidesNoOther) {
  {
    auto log = LineageLog::Open(root_ + "/good", Job("good", 1));
    ASSERT_TRUE(log.ok());
    (*log)->FinishJob(1);
  }
  ASSERT_EQ(std::system(("mkdir -p " + root_ + "/bad").c_str()), 0);
  std::ofstream(root_ + "/bad/CURRENT") << "garbage\n";
  std::vector<std::string> errors;
  auto jobs = ListLineageJobs(root_, &errors);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job.state, JobInfo::State::kFailed);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(root_ + "/bad"), std::string::npos) << errors[0];
}

// A process killed as it created its log leaves a folder with no CURRENT file, which cannot be
// read: pruning removes it once it has been left ten minutes, and leaves a corrupt database (it
// has a CURRENT file), a fresh folder, and the jobs it keeps.
TEST_F(LineageLogTest, PruningRemovesTheLogsAbandonedAsTheyWereMade) {
  {
    auto log = LineageLog::Open(root_ + "/good", Job("good", 1));
    ASSERT_TRUE(log.ok());
    (*log)->FinishJob(0);
  }
  for (const char* dir : {"/abandoned", "/fresh", "/corrupt"}) {
    ASSERT_EQ(std::system(("mkdir -p " + root_ + dir).c_str()), 0);
    std::ofstream(root_ + dir + "/OPTIONS-000007") << "partial\n";
  }
  std::ofstream(root_ + "/corrupt/CURRENT") << "garbage\n";
  for (const char* dir : {"/abandoned", "/corrupt"}) {
    std::string path = root_ + dir;
    ASSERT_EQ(std::system(("touch -d '-11 minutes' " + path + "/* " + path).c_str()), 0);
  }
  std::vector<std::string> errors;
  EXPECT_EQ(PruneLineage(root_, RetentionPolicy(), &errors), 1u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/abandoned"));
  for (const char* dir : {"/good", "/fresh", "/corrupt"}) {
    EXPECT_TRUE(std::filesystem::exists(root_ + dir)) << dir;
  }
  errors.clear();
  EXPECT_EQ(ListLineageJobs(root_, &errors).size(), 1u);
}

// A node's start prunes at most once in min_interval: with a thousand jobs kept, each start
// would otherwise read them all to remove one.
TEST_F(LineageLogTest, AStartPrunesAtMostOnceInTheInterval) {
  for (int i = 0; i < 4; ++i) {
    auto log = LineageLog::Open(root_ + "/j" + std::to_string(i), Job("j" + std::to_string(i), i));
    ASSERT_TRUE(log.ok());
    (*log)->FinishJob(0);
  }
  std::vector<std::string> errors;
  RetentionPolicy policy;
  policy.keep_jobs = 3;
  const auto hour = std::chrono::seconds(3600);
  EXPECT_EQ(PruneLineageIfDue(root_, policy, hour, &errors), 1u);
  policy.keep_jobs = 1;
  EXPECT_EQ(PruneLineageIfDue(root_, policy, hour, &errors), 0u);  // Pruned a moment ago.
  EXPECT_EQ(ListLineageJobs(root_, &errors).size(), 3u);
  EXPECT_EQ(PruneLineageIfDue(root_, policy, std::chrono::seconds(0), &errors), 2u);
  EXPECT_EQ(ListLineageJobs(root_, &errors).size(), 1u);
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace rayx
