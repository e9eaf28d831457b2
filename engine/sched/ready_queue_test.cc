#include "engine/sched/ready_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

// A node with workers always at hand: records what ran and what it holds, so tests can finish
// tasks.
class Runner {
 public:
  explicit Runner(const ResourceSet& total) : node_(total) {}

  size_t Dispatch(ReadyQueue* queue) {
    return queue->Dispatch(&node_, [this](ReadyQueue::TaskKey key, const Allocation& a) {
      if (workers_left_ == 0) return false;
      --workers_left_;
      ran_.push_back(key);
      held_.emplace(key, a);
      return true;
    });
  }
  void Finish(ReadyQueue::TaskKey key) {
    node_.Release(held_.at(key));
    held_.erase(key);
  }

  NodeResources& node() { return node_; }
  const std::vector<ReadyQueue::TaskKey>& ran() const { return ran_; }
  const Allocation& held(ReadyQueue::TaskKey key) const { return held_.at(key); }
  void set_workers(size_t n) { workers_left_ = n; }

 private:
  NodeResources node_;
  std::vector<ReadyQueue::TaskKey> ran_;
  std::map<ReadyQueue::TaskKey, Allocation> held_;
  size_t workers_left_ = SIZE_MAX;
};

using Keys = std::vector<ReadyQueue::TaskKey>;

TEST(ReadyQueueTest, TwoOneCpuTasksRunOnTwoCpusAndTheThirdWaits) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 2}}));
  for (ReadyQueue::TaskKey key : {1, 2, 3}) queue.Push(key, Res({{"CPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 2u);
  EXPECT_EQ(runner.ran(), (Keys{1, 2}));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(runner.Dispatch(&queue), 0u);
  runner.Finish(1);
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{1, 2, 3}));
  EXPECT_TRUE(queue.empty());
}

TEST(ReadyQueueTest, WaitingTwoCpuTaskDoesNotBlockOneCpuTasks) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 2}}));
  queue.Push(1, Res({{"CPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  queue.Push(2, Res({{"CPU", 2}}));  // Needs both CPUs; one is busy.
  queue.Push(3, Res({{"CPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{1, 3}));
  // Once both 1-CPU tasks finish the 2-CPU task runs.
  runner.Finish(1);
  EXPECT_EQ(runner.Dispatch(&queue), 0u);
  runner.Finish(3);
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{1, 3, 2}));
}

TEST(ReadyQueueTest, FifoWithinAClassAndClassesInOrderOfFirstAppearance) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 10}, {"GPU", 10}}));
  queue.Push(10, Res({{"GPU", 1}}));
  queue.Push(20, Res({{"CPU", 1}}));
  queue.Push(11, Res({{"GPU", 1}}));
  queue.Push(21, Res({{"CPU", 1}}));
  queue.Push(12, Res({{"GPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 5u);
  EXPECT_EQ(runner.ran(), (Keys{10, 11, 12, 20, 21}));
}

TEST(ReadyQueueTest, ConcurrentGpuTasksGetDifferentGpus) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 4}, {"GPU", 2}}));
  for (ReadyQueue::TaskKey key : {1, 2, 3}) queue.Push(key, Res({{"CPU", 1}, {"GPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 2u);
  EXPECT_EQ(runner.held(1).gpu_ids, std::vector<int>{0});
  EXPECT_EQ(runner.held(2).gpu_ids, std::vector<int>{1});
  runner.Finish(2);
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.held(3).gpu_ids, std::vector<int>{1});
}

TEST(ReadyQueueTest, FourHalfGpuTasksShareTwoGpus) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 8}, {"GPU", 2}}));
  for (ReadyQueue::TaskKey key : {1, 2, 3, 4, 5}) queue.Push(key, Res({{"GPU", 0.5}}));
  EXPECT_EQ(runner.Dispatch(&queue), 4u);
  EXPECT_EQ(runner.held(1).gpu_ids, runner.held(2).gpu_ids);
  EXPECT_EQ(runner.held(3).gpu_ids, runner.held(4).gpu_ids);
  EXPECT_NE(runner.held(1).gpu_ids, runner.held(3).gpu_ids);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(ReadyQueueTest, RefusedTaskKeepsItsPlaceAndItsResourcesGoBack) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 4}}));
  queue.Push(1, Res({{"CPU", 1}}));
  queue.Push(2, Res({{"CPU", 1}}));
  queue.Push(3, Res({{"CPU", 2}}));
  runner.set_workers(1);
  // Task 1 takes the only worker; task 2 is refused, which stops its class for this call, and
  // task 3 is refused too.
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{1}));
  EXPECT_EQ(runner.node().available(), Res({{"CPU", 3}}));
  EXPECT_EQ(queue.size(), 2u);
  runner.set_workers(SIZE_MAX);
  EXPECT_EQ(runner.Dispatch(&queue), 2u);
  EXPECT_EQ(runner.ran(), (Keys{1, 2, 3}));
}

TEST(ReadyQueueTest, RefusalStopsOnlyThatClassForThisCall) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 4}, {"GPU", 1}}));
  queue.Push(1, Res({{"CPU", 1}}));
  queue.Push(2, Res({{"CPU", 1}}));
  queue.Push(3, Res({{"GPU", 1}}));
  int calls = 0;
  size_t dispatched =
      queue.Dispatch(&runner.node(), [&](ReadyQueue::TaskKey key, const Allocation&) {
        ++calls;
        return key == 3;  // No worker for CPU tasks right now.
      });
  EXPECT_EQ(dispatched, 1u);
  EXPECT_EQ(calls, 2);  // Task 2 was not tried after task 1 was refused.
  EXPECT_EQ(runner.node().available(), Res({{"CPU", 4}}));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(ReadyQueueTest, RemoveWorksForAnyQueuedTask) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 10}}));
  for (ReadyQueue::TaskKey key : {1, 2, 3, 4}) queue.Push(key, Res({{"CPU", 1}}));
  queue.Push(5, Res({{"CPU", 2}}));
  EXPECT_TRUE(queue.Remove(2));   // Middle of a class.
  EXPECT_TRUE(queue.Remove(1));   // Head.
  EXPECT_TRUE(queue.Remove(4));   // Tail.
  EXPECT_TRUE(queue.Remove(5));   // A class's only task.
  EXPECT_FALSE(queue.Remove(5));  // Already gone.
  EXPECT_FALSE(queue.Remove(99));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{3}));
  EXPECT_FALSE(queue.Remove(3));  // Dispatched tasks are no longer queued.
}

TEST(ReadyQueueTest, EmptiedClassIsDroppedAndComesBackAtTheEnd) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 10}, {"GPU", 10}}));
  queue.Push(1, Res({{"GPU", 1}}));
  queue.Push(2, Res({{"CPU", 1}}));
  EXPECT_TRUE(queue.Remove(1));
  queue.Push(3, Res({{"GPU", 1}}));  // Appears again, after the CPU class.
  EXPECT_EQ(runner.Dispatch(&queue), 2u);
  EXPECT_EQ(runner.ran(), (Keys{2, 3}));
  // A key may be queued again once it has left.
  queue.Push(1, Res({{"CPU", 1}}));
  EXPECT_EQ(queue.size(), 1u);
}

TEST(ReadyQueueTest, OversubscribedCpuHoldsBackCpuTasksOnly) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 1}, {"GPU", 1}}));
  runner.node().ReacquireCpu(Res({{"CPU", 1.5}}));  // Blocked workers woke up: CPU is at -0.5.
  queue.Push(1, Res({{"CPU", 0.5}}));
  queue.Push(2, Res({{"GPU", 1}}));
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{2}));
  runner.node().ReleaseCpu(Res({{"CPU", 1.5}}));
  EXPECT_EQ(runner.Dispatch(&queue), 1u);
  EXPECT_EQ(runner.ran(), (Keys{2, 1}));
}

TEST(ReadyQueueTest, EmptyQueueDispatchesNothing) {
  ReadyQueue queue;
  Runner runner(Res({{"CPU", 1}}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(runner.Dispatch(&queue), 0u);
  EXPECT_EQ(runner.node().available(), Res({{"CPU", 1}}));
}

TEST(ReadyQueueTest, DeeperTasksGoFirstAndEqualDepthsKeepTheirOrder) {
  NodeResources resources(Res({{"CPU", 1}}));
  ReadyQueue queue;
  queue.Push(1, Res({{"CPU", 1}}), /*depth=*/0);
  queue.Push(2, Res({{"CPU", 1}}), /*depth=*/2);
  queue.Push(3, Res({{"CPU", 1}}), /*depth=*/1);
  queue.Push(4, Res({{"CPU", 1}}), /*depth=*/2);
  std::vector<ReadyQueue::TaskKey> order;
  for (int i = 0; i < 4; ++i) {
    queue.Dispatch(&resources, [&](ReadyQueue::TaskKey key, const Allocation& a) {
      order.push_back(key);
      resources.Release(a);  // Done at once, so the next one fits.
      return true;
    });
  }
  EXPECT_EQ(order, (std::vector<ReadyQueue::TaskKey>{2, 4, 3, 1}));
}

}  // namespace
}  // namespace rayx
