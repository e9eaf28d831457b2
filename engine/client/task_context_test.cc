#include "engine/client/task_context.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace rayx {
namespace {

// The current task is per thread, not per context (a process has one): every test starts its
// thread with none.
class TaskContextTest : public ::testing::Test {
 protected:
  void SetUp() override { TaskContext(TaskID(), job_).SetCurrentTask(TaskID()); }

  JobID job_ = JobID::FromInt(7);
  TaskID driver_ = TaskID::ForDriver(JobID::FromInt(7));
};

TEST_F(TaskContextTest, IdsAreTheSameForTheSameInputs) {
  std::vector<TaskID> tasks[2];
  std::vector<ObjectID> puts[2];
  for (int run = 0; run < 2; ++run) {
    TaskContext context(driver_, job_);
    for (int i = 0; i < 3; ++i) tasks[run].push_back(context.NextTaskId());
    for (int i = 0; i < 3; ++i) puts[run].push_back(context.NextPutId());
  }
  EXPECT_EQ(tasks[0], tasks[1]);
  EXPECT_EQ(puts[0], puts[1]);
  EXPECT_NE(tasks[0][0], tasks[0][1]);
  EXPECT_EQ(tasks[0][0], TaskID::ForChild(job_, driver_, 0));
  EXPECT_EQ(tasks[0][2].Job(), job_);
}

TEST_F(TaskContextTest, IdsInATaskDeriveFromItAndStartAgainWithEachTask) {
  TaskContext a(TaskID(), job_);
  TaskContext b(TaskID(), job_);
  TaskID parent = TaskID::ForChild(job_, driver_, 5);
  a.SetCurrentTask(parent, 1);
  TaskID first = a.NextTaskId();
  TaskID second = a.NextTaskId();
  EXPECT_NE(first, second);
  b.SetCurrentTask(parent, 1);  // Another context, same thread and task: the same ids again.
  EXPECT_EQ(b.NextTaskId(), first);
  EXPECT_EQ(b.NextTaskId(), second);
}

TEST_F(TaskContextTest, AttemptsOfOneTaskSubmitChildrenOfTheirOwn) {
  TaskContext context(TaskID(), job_);
  TaskID parent = TaskID::ForChild(job_, driver_, 0);
  context.SetCurrentTask(parent, 1, /*attempt=*/3);
  std::vector<TaskID> first_attempt = {context.NextTaskId(), context.NextTaskId()};
  context.SetCurrentTask(parent, 1, /*attempt=*/2);
  std::vector<TaskID> retry = {context.NextTaskId(), context.NextTaskId()};
  for (const TaskID& a : first_attempt) {
    for (const TaskID& r : retry) EXPECT_NE(a, r);
  }
  context.SetCurrentTask(parent, 1, /*attempt=*/3);  // The same attempt: the same ids.
  EXPECT_EQ(context.NextTaskId(), first_attempt[0]);
}

TEST_F(TaskContextTest, PutIdsFollowInSequence) {
  TaskContext context(driver_, job_);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(context.NextPutId(), ObjectID::ForPut(driver_, i));
  TaskID task = TaskID::ForChild(job_, driver_, 1);
  context.SetCurrentTask(task, 1);
  EXPECT_EQ(context.NextPutId(), ObjectID::ForPut(task, 0));
  EXPECT_EQ(context.NextPutId(), ObjectID::ForPut(task, 1));
  EXPECT_EQ(context.NextPutId().Task(), task);
  context.SetCurrentTask(TaskID());  // Back to the process's own task and its own counter.
  EXPECT_EQ(context.NextPutId(), ObjectID::ForPut(driver_, 4));
}

TEST_F(TaskContextTest, CurrentTaskIsPerThread) {
  TaskContext context(driver_, job_);
  TaskID mine = TaskID::ForChild(job_, driver_, 1);
  TaskID theirs = TaskID::ForChild(job_, driver_, 2);
  context.SetCurrentTask(mine, 1);
  TaskID seen_before, seen_after, child;
  std::thread other([&] {
    seen_before = context.current_task();
    context.SetCurrentTask(theirs, 1);
    seen_after = context.current_task();
    child = context.NextTaskId();
  });
  other.join();
  EXPECT_EQ(seen_before, driver_);
  EXPECT_EQ(seen_after, theirs);
  EXPECT_EQ(child, TaskID::ForChild(job_, theirs, 0));
  EXPECT_EQ(context.current_task(), mine);
  EXPECT_EQ(context.NextTaskId(), TaskID::ForChild(job_, mine, 0));
}

TEST_F(TaskContextTest, JobIsTheCurrentTasksOrTheFallback) {
  TaskContext worker(TaskID(), job_);
  EXPECT_TRUE(worker.current_task().IsNil());
  EXPECT_EQ(worker.job_id(), job_);
  JobID other_job = JobID::FromInt(9);
  worker.SetCurrentTask(TaskID::ForChild(other_job, TaskID::ForDriver(other_job), 0), 1);
  EXPECT_EQ(worker.job_id(), other_job);
}

TEST_F(TaskContextTest, ChildDepthIsOneBelowTheTask) {
  TaskContext context(driver_, job_);
  EXPECT_EQ(context.ChildDepth(), 1u);  // A driver's tasks.
  TaskID task = TaskID::ForChild(job_, driver_, 0);
  context.SetCurrentTask(task, 3);
  EXPECT_EQ(context.ChildDepth(), 4u);
  // A thread of a concurrent actor is given no depth: the last one set counts.
  uint32_t other_depth = 0;
  std::thread other([&] {
    context.SetCurrentTask(TaskID::ForChild(job_, task, 0));
    other_depth = context.ChildDepth();
  });
  other.join();
  EXPECT_EQ(other_depth, 4u);
  // A thread with no task of its own: the last depth too.
  std::thread none([&] { other_depth = context.ChildDepth(); });
  none.join();
  EXPECT_EQ(other_depth, 4u);
}

TEST_F(TaskContextTest, JobNamespaceIsTheTasksElseTheProcesss) {
  TaskContext driver(driver_, job_);
  EXPECT_EQ(driver.job_namespace(), "");
  driver.SetProcessNamespace("colors", /*actor=*/false);
  EXPECT_EQ(driver.job_namespace(), "colors");
  std::string seen;
  std::thread other([&] { seen = driver.job_namespace(); });  // Every thread of the driver.
  other.join();
  EXPECT_EQ(seen, "colors");

  // A worker: each task's namespace, on the thread that runs it.
  TaskContext worker(TaskID(), job_);
  worker.SetTaskNamespace("fruits");
  EXPECT_EQ(worker.job_namespace(), "fruits");
  std::thread idle([&] { seen = worker.job_namespace(); });
  idle.join();
  EXPECT_EQ(seen, "");
  worker.SetTaskNamespace("colors");
  EXPECT_EQ(worker.job_namespace(), "colors");

  // An actor's worker keeps its creation's for every call, whoever made the call.
  TaskContext actor(TaskID(), job_);
  actor.SetProcessNamespace("actors", /*actor=*/true);
  actor.SetTaskNamespace("callers");
  EXPECT_EQ(actor.job_namespace(), "actors");
  std::thread call([&] {
    actor.SetTaskNamespace("callers");
    seen = actor.job_namespace();
  });
  call.join();
  EXPECT_EQ(seen, "actors");
}

}  // namespace
}  // namespace rayx
