#include "engine/loop/event_loop.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace rayx {
namespace {

// Runs fn on the loop thread and waits for it.
void RunOnLoop(EventLoop* loop, std::function<void()> fn) {
  std::promise<void> done;
  loop->Post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

TEST(EventLoopTest, PostRunsOnLoopThreadInOrder) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  EXPECT_FALSE(loop.IsLoopThread());
  std::vector<int> seen;  // Touched on the loop thread only.
  bool on_loop_thread = true;
  for (int i = 0; i < 1000; ++i) {
    loop.Post([&, i] {
      on_loop_thread = on_loop_thread && loop.IsLoopThread();
      seen.push_back(i);
    });
  }
  RunOnLoop(&loop, [] {});
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_TRUE(on_loop_thread);
  loop.Stop();
}

// Signals sent to the process must reach the main thread, where Python handles them (signals.h):
// the loop thread blocks them, and the threads it starts (libuv's pool) inherit that.
TEST(EventLoopTest, LoopThreadLeavesProcessSignalsToTheMainThread) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  sigset_t on_loop;
  sigemptyset(&on_loop);
  RunOnLoop(&loop, [&] { pthread_sigmask(SIG_BLOCK, nullptr, &on_loop); });
  for (int signal : {SIGINT, SIGTERM, SIGUSR1, SIGALRM}) {
    EXPECT_EQ(sigismember(&on_loop, signal), 1) << "signal " << signal;
  }
  EXPECT_EQ(sigismember(&on_loop, SIGCHLD), 0);  // libuv's child watcher needs it.
  sigset_t here;
  pthread_sigmask(SIG_BLOCK, nullptr, &here);
  EXPECT_EQ(sigismember(&here, SIGINT), 0);  // The caller's own mask is left alone.
  loop.Stop();
}

TEST(EventLoopTest, PostsFromSeveralThreadsKeepEachThreadsOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::vector<int> next(kThreads, 0);  // Loop thread only.
  int out_of_order = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.Post([&, t, i] {
          if (next[t] != i) ++out_of_order;
          next[t] = i + 1;
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  RunOnLoop(&loop, [] {});
  EXPECT_EQ(out_of_order, 0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kPerThread);
  loop.Stop();
}

TEST(EventLoopTest, StopRunsWorkPostedBeforeIt) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::atomic<int> ran{0};
  // The first function holds the loop thread, so the rest are still queued when Stop() begins.
  loop.Post([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++ran;
  });
  for (int i = 0; i < 100; ++i) loop.Post([&] { ++ran; });
  loop.Stop();
  EXPECT_EQ(ran.load(), 101);
}

TEST(EventLoopTest, PostAfterStopIsDropped) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  loop.Stop();
  bool ran = false;
  loop.Post([&] { ran = true; });
  loop.Stop();  // Idempotent.
  EXPECT_FALSE(ran);
}

TEST(EventLoopTest, PostFromLoopThreadDuringStopIsDropped) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::atomic<bool> inner_ran{false};
  std::promise<void> posted;
  loop.Post([&] {
    posted.get_future().wait();  // Stop() has begun by now.
    loop.Post([&] { inner_ran = true; });
  });
  std::thread stopper([&] { loop.Stop(); });
  // Long enough for Stop() to have set its flag; if not, the test fails rather than passes.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  posted.set_value();
  stopper.join();
  EXPECT_FALSE(inner_ran.load());
}

TEST(EventLoopTest, WorkPostedBeforeStartRunsAfterStart) {
  EventLoop loop;
  std::atomic<int> ran{0};
  loop.Post([&] { ++ran; });
  ASSERT_TRUE(loop.Start().ok());
  RunOnLoop(&loop, [&] { ++ran; });
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(loop.Start().ok());
}

TEST(EventLoopTest, StopClosesTimersStillOpen) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::unique_ptr<Timer> repeating;
  std::unique_ptr<Timer> idle;
  std::atomic<int> fired{0};
  RunOnLoop(&loop, [&] {
    repeating = std::make_unique<Timer>(&loop);
    repeating->Start(1, 1, [&] { ++fired; });
    idle = std::make_unique<Timer>(&loop);  // Never started: an inactive handle to close too.
  });
  while (fired.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Stop() must close both handles; the loop's destructor checks that it closed cleanly.
  loop.Stop();
  const int after_stop = fired.load();
  // The handles are gone; the Timer objects may still be destroyed afterwards.
  repeating.reset();
  idle.reset();
  EXPECT_EQ(fired.load(), after_stop);
}

TEST(EventLoopTest, DestructorStopsARunningLoop) {
  std::atomic<int> ran{0};
  {
    EventLoop loop;
    ASSERT_TRUE(loop.Start().ok());
    loop.Post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1);
}

TEST(EventLoopTest, LoopThatNeverStartedClosesCleanly) {
  EventLoop loop;
  Timer timer(&loop);  // Made before Start(), as setup code may do.
  int ran = 0;
  loop.Post([&] { ++ran; });
  loop.Stop();
  EXPECT_EQ(ran, 1);
}

TEST(EventLoopTest, NowMsAdvances) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  uint64_t first = 0;
  RunOnLoop(&loop, [&] { first = loop.NowMs(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uint64_t second = 0;
  RunOnLoop(&loop, [&] { second = loop.NowMs(); });
  EXPECT_GE(second, first + 15);
  loop.Stop();
}

}  // namespace
}  // namespace rayx
