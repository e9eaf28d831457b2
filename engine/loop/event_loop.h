// EventLoop: one libuv loop on a thread of its own, the only thread that touches the state of the
// components it runs (no locks on that state).
//
// Other threads hand work to the loop with Post(), which is thread-safe; posted functions run on
// the loop thread in the order they were posted. Wake-ups are merged (uv_async_send), so one
// wake-up may run many posted functions.
//
// Life cycle: construct, Start(), use, Stop() from a thread other than the loop thread (Stop runs
// what was posted before it, closes every handle still open on the loop, and joins the thread),
// destroy. The destructor stops a loop that is still running.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the loop thread. Fails if libuv cannot set up the loop or the wake-up handle.
  Status Start();

  // Thread-safe. Runs fn on the loop thread. Functions posted after Stop() began are dropped.
  void Post(std::function<void()> fn);

  // Thread-safe, but not from the loop thread. Idempotent.
  void Stop();

  bool IsLoopThread() const;

  // Loop thread only, or before Start().
  uv_loop_t* uv() { return &loop_; }

  // Milliseconds on the loop's monotonic clock (uv_now), updated each iteration. Loop thread only.
  uint64_t NowMs() { return uv_now(&loop_); }

 private:
  static void OnWake(uv_async_t* handle);
  void RunPosted();

  uv_loop_t loop_;
  uv_async_t wake_;
  std::thread thread_;
  std::thread::id loop_thread_id_;
  bool started_ = false;

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
};

// A one-shot or repeating timer on an EventLoop. Loop thread only, including construction.
// The destructor stops the timer; the uv handle is freed after its close callback, so a Timer can
// be destroyed at any time on the loop thread.
class Timer {
 public:
  explicit Timer(EventLoop* loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Calls fn after timeout_ms, then every repeat_ms if repeat_ms > 0. Restarting replaces fn.
  void Start(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> fn);
  void Stop();

 private:
  struct Handle;
  Handle* handle_;  // Owned; deleted in the uv close callback.
};

}  // namespace rayx
