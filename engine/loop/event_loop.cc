#include "engine/loop/event_loop.h"

#include <signal.h>

#include <utility>
#include <vector>

#include "engine/base/logging.h"
#include "engine/base/signals.h"
#include "engine/loop/callback_guard.h"

namespace rayx {
namespace {

Status UvError(const char* what, int code) {
  return IoError(std::string(what) + ": " + uv_strerror(code));
}

void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

namespace internal {

HandleHolder::HandleHolder(EventLoop* loop) : loop_(loop) { loop_->holders_.insert(this); }

void HandleHolder::Unregister() {
  if (!registered_) return;
  registered_ = false;
  loop_->holders_.erase(this);
}

}  // namespace internal

EventLoop::EventLoop() {
  IgnoreSigpipe();
  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    init_status_ = UvError("uv_loop_init", rc);
    return;
  }
  loop_open_ = true;
  rc = uv_async_init(&loop_, &wake_, &EventLoop::OnWake);
  if (rc != 0) {
    init_status_ = UvError("uv_async_init", rc);
    uv_loop_close(&loop_);
    loop_open_ = false;
    return;
  }
  wake_.data = this;
}

EventLoop::~EventLoop() {
  Stop();
  // A destructor asserts that its handles are closed: Stop() closed them all.
  RAYX_CHECK(!loop_open_) << "event loop destroyed with handles still open";
}

Status EventLoop::Start() {
  RAYX_RETURN_IF_ERROR(init_status_);
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (started_ || stopped_) return FailedPrecondition("event loop already started or stopped");
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
    // Functions posted before Start() sent no wake-up.
    if (!posted_.empty()) uv_async_send(&wake_);
  }
  thread_ = std::thread([this] { ThreadMain(); });
  return Status::OK();
}

void EventLoop::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  const bool was_empty = posted_.empty();
  posted_.push_back(std::move(fn));
  // A non-empty queue already has a wake-up on its way. The send happens under mu_ so that the
  // loop thread, which reads stopping_ under mu_, cannot close wake_ while a send is under way.
  if (was_empty && started_) uv_async_send(&wake_);
}

void EventLoop::Stop() {
  RAYX_CHECK(!IsLoopThread()) << "EventLoop::Stop() called on the loop thread";
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (started_) uv_async_send(&wake_);
  }
  if (started_) {
    thread_.join();
    return;
  }
  // Never started: this thread stands in for the loop thread to finish what was posted and close
  // the handles made before Start().
  if (!loop_open_) return;
  loop_thread_id_.store(std::this_thread::get_id());
  RunPosted();
  CloseAllAndDrain();
  loop_thread_id_.store(std::thread::id());
}

bool EventLoop::IsLoopThread() const {
  return loop_thread_id_.load() == std::this_thread::get_id();
}

void EventLoop::OnWake(uv_async_t* handle) {
  auto* self = static_cast<EventLoop*>(handle->data);
  // RunPosted runs each posted function inside GuardCallback: one that throws is logged and
  // skipped, and the rest of the batch still runs.
  if (self->RunPosted()) {
    self->quit_ = true;
    uv_stop(&self->loop_);
  }
}

bool EventLoop::RunPosted() noexcept {
  std::vector<std::function<void()>> batch;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(posted_);
    stopping = stopping_;
  }
  for (auto& fn : batch) GuardCallback("a function posted to the event loop", fn);
  return stopping;
}

void EventLoop::ThreadMain() {
  BlockProcessSignals();  // They are the main thread's (signals.h).
  loop_thread_id_.store(std::this_thread::get_id());
  // wake_ is always active, so uv_run returns only after uv_stop(); loop again if it ever does not.
  while (!quit_) uv_run(&loop_, UV_RUN_DEFAULT);
  CloseAllAndDrain();
}

void EventLoop::CloseAllAndDrain() {
  for (;;) {
    // Our own handles are closed through their owners, which free them in their close callbacks.
    std::vector<internal::HandleHolder*> holders(holders_.begin(), holders_.end());
    for (internal::HandleHolder* holder : holders) {
      if (holders_.count(holder) != 0) holder->CloseForStop();
    }
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void* arg) {
          if (uv_is_closing(handle)) return;
          if (handle != reinterpret_cast<uv_handle_t*>(&static_cast<EventLoop*>(arg)->wake_)) {
            GuardCallback("EventLoop walk callback", [handle] {
              RAYX_LOG(Warning) << "closing a " << uv_handle_type_name(uv_handle_get_type(handle))
                                << " handle left open on a stopping event loop";
            });
          }
          uv_close(handle, nullptr);
        },
        this);
    // Runs the close callbacks (and cancelled write callbacks). Close handlers may open new
    // handles; the next pass closes those too.
    uv_run(&loop_, UV_RUN_ONCE);
    if (uv_loop_close(&loop_) == 0) break;
  }
  loop_open_ = false;
}

}  // namespace rayx
