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
//
// Handles: every uv handle made by this library (Timer, Connection, UnixListener) is
// heap-allocated, registered with its loop while open, and freed only after its close callback.
// Stop() closes the ones still open through their owners (a Connection calls its close handler with
// Cancelled), then closes any other handle on the loop with no close callback, and runs the loop
// until all are closed. Code that makes handles of its own must therefore close them before Stop().
//
// Exceptions: none crosses a libuv frame (engine/loop/callback_guard.h). A posted function or timer
// callback that throws is logged at Error level and skipped; the loop carries on.
//
// Constructing an EventLoop makes the process ignore SIGPIPE, so that a write to a socket whose
// peer has gone fails with EPIPE instead of killing the process.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

class EventLoop;

namespace internal {

// Base of the heap objects that own the uv handles of engine/loop's types. It registers itself with
// its loop on construction; the owner calls Unregister() from the last close callback.
class HandleHolder {
 public:
  explicit HandleHolder(EventLoop* loop);
  virtual ~HandleHolder() = default;
  HandleHolder(const HandleHolder&) = delete;
  HandleHolder& operator=(const HandleHolder&) = delete;

  // Called on the loop thread while the loop stops, if still registered: closes the handle the way
  // its owner would. Must tolerate handles that are already closing.
  virtual void CloseForStop() = 0;

 protected:
  void Unregister();
  EventLoop* const loop_;

 private:
  bool registered_ = true;
};

}  // namespace internal

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
  friend class internal::HandleHolder;

  static void OnWake(uv_async_t* handle);
  // Runs the functions posted so far, each inside GuardCallback (one that throws is logged and
  // skipped); returns whether Stop() had begun when they were taken.
  bool RunPosted() noexcept;
  void ThreadMain();
  // Closes every handle on the loop and runs it until they are closed, then closes the loop.
  void CloseAllAndDrain();

  uv_loop_t loop_;
  uv_async_t wake_;
  Status init_status_;      // Why the constructor could not set up the loop, if it could not.
  bool loop_open_ = false;  // The loop is initialized and not yet closed.
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_id_{};
  bool started_ = false;  // Written under stop_mu_ and mu_; read under either.
  bool quit_ = false;     // Loop thread only: Stop() was seen.
  std::unordered_set<internal::HandleHolder*> holders_;  // Loop thread only.

  std::mutex stop_mu_;    // Serializes Stop() calls.
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                      // GUARDED_BY(mu_)
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
