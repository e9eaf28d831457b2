#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "engine/loop/event_loop.h"

namespace rayx {
namespace {

void RunOnLoop(EventLoop* loop, std::function<void()> fn) {
  std::promise<void> done;
  loop->Post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

class TimerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Start().ok()); }
  void TearDown() override { loop_.Stop(); }
  EventLoop loop_;
};

TEST_F(TimerTest, OneShotFiresOnce) {
  std::unique_ptr<Timer> timer;
  std::atomic<int> fired{0};
  uint64_t started_at = 0;
  std::atomic<uint64_t> fired_at{0};
  RunOnLoop(&loop_, [&] {
    timer = std::make_unique<Timer>(&loop_);
    started_at = loop_.NowMs();
    timer->Start(20, 0, [&] {
      fired_at = loop_.NowMs();
      ++fired;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  EXPECT_EQ(fired.load(), 1);
  EXPECT_GE(fired_at.load(), started_at + 20);
  RunOnLoop(&loop_, [&] { timer.reset(); });
}

TEST_F(TimerTest, RepeatsUntilStopped) {
  std::unique_ptr<Timer> timer;
  std::atomic<int> fired{0};
  RunOnLoop(&loop_, [&] {
    timer = std::make_unique<Timer>(&loop_);
    timer->Start(1, 2, [&] { ++fired; });
  });
  while (fired.load() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  RunOnLoop(&loop_, [&] { timer->Stop(); });
  const int at_stop = fired.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(fired.load(), at_stop);
  RunOnLoop(&loop_, [&] { timer.reset(); });
}

TEST_F(TimerTest, RestartReplacesTheFunction) {
  std::unique_ptr<Timer> timer;
  std::atomic<int> first{0};
  std::atomic<int> second{0};
  RunOnLoop(&loop_, [&] {
    timer = std::make_unique<Timer>(&loop_);
    timer->Start(30, 0, [&] { ++first; });
    timer->Start(1, 0, [&] { ++second; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(first.load(), 0);
  EXPECT_EQ(second.load(), 1);
  RunOnLoop(&loop_, [&] { timer.reset(); });
}

TEST_F(TimerTest, CanBeDestroyedFromItsOwnCallback) {
  std::promise<void> fired;
  auto* timer_slot = new std::unique_ptr<Timer>();
  RunOnLoop(&loop_, [&] {
    *timer_slot = std::make_unique<Timer>(&loop_);
    (*timer_slot)->Start(1, 1, [&, timer_slot] {
      timer_slot->reset();  // Destroys the Timer whose function is running.
      delete timer_slot;
      fired.set_value();
    });
  });
  fired.get_future().wait();
}

TEST_F(TimerTest, DestroyedBeforeFiringNeverFires) {
  std::atomic<int> fired{0};
  RunOnLoop(&loop_, [&] {
    Timer timer(&loop_);
    timer.Start(1, 0, [&] { ++fired; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(fired.load(), 0);
}

}  // namespace
}  // namespace rayx
