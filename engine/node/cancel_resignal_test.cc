#include "engine/node/cancel_resignal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

namespace rayx {
namespace {

// Runs fn on the loop thread and waits for it.
template <typename Fn>
void OnLoop(EventLoop* loop, Fn fn) {
  std::promise<void> done;
  loop->Post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// A task is signalled again every period while the callback says it runs, and forgotten once it
// says it ended; the timer stops when nothing is tracked, and a later cancel starts it again.
TEST(CancelResignalTest, RepeatsUntilTheTaskEndsAndStartsAgainForTheNext) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::atomic<int> running_until{3};  // Signals the first task gets before it ends.
  std::map<uint64_t, int> signals;    // Loop thread only.
  std::unique_ptr<CancelResignal> resignal;
  WorkerID worker = WorkerID::FromRandom();
  OnLoop(&loop, [&] {
    resignal = std::make_unique<CancelResignal>(
        &loop,
        [&](uint64_t key, const WorkerID& on) {
          EXPECT_EQ(on, worker);
          return ++signals[key] < running_until.load();
        },
        10);
    resignal->Track(1, worker);
    resignal->Track(1, worker);  // Cancelled twice: tracked once.
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t tracked = 1;
  while (tracked != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    OnLoop(&loop, [&] { tracked = resignal->tracked(); });
  }
  int first = 0;
  OnLoop(&loop, [&] { first = signals[1]; });
  EXPECT_EQ(tracked, 0u);
  EXPECT_EQ(first, 3);  // Signalled until it ended, then not again.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  OnLoop(&loop, [&] { EXPECT_EQ(signals[1], 3); });

  running_until = 1;  // The next task ends at its first repeat.
  OnLoop(&loop, [&] { resignal->Track(2, worker); });
  tracked = 1;
  while (tracked != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    OnLoop(&loop, [&] { tracked = resignal->tracked(); });
  }
  OnLoop(&loop, [&] {
    EXPECT_EQ(signals[2], 1);
    resignal.reset();  // On the loop thread, as its timer requires.
  });
  loop.Stop();
}

}  // namespace
}  // namespace rayx
