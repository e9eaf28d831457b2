#include <memory>
#include <utility>

#include "engine/base/logging.h"
#include "engine/loop/callback_guard.h"
#include "engine/loop/event_loop.h"

namespace rayx {

// Owns the uv timer. Lives until the close callback, which may come after the Timer is gone.
struct Timer::Handle : internal::HandleHolder {
  Handle(EventLoop* loop, Timer* owner) : HandleHolder(loop), owner(owner) {
    RAYX_CHECK(uv_timer_init(loop->uv(), &timer) == 0);
    timer.data = this;
  }

  void Close() {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer), &Handle::OnClosed);
    }
  }

  void CloseForStop() override { Close(); }

  // A function that throws is logged and the timer stays as it was: a repeating one fires again.
  static void OnFire(uv_timer_t* t) {
    GuardCallback("Timer callback", [t] {
      // A copy keeps the function alive if it restarts or destroys its own Timer.
      std::shared_ptr<std::function<void()>> fn = static_cast<Handle*>(t->data)->fn;
      if (fn && *fn) (*fn)();
    });
  }

  static void OnClosed(uv_handle_t* h) {
    GuardCallback("Timer close callback", [h] {
      auto* self = static_cast<Handle*>(h->data);
      if (self->owner != nullptr) self->owner->handle_ = nullptr;
      self->Unregister();
      delete self;
    });
  }

  uv_timer_t timer;
  Timer* owner;  // Null once the Timer is destroyed.
  std::shared_ptr<std::function<void()>> fn;
};

Timer::Timer(EventLoop* loop) : handle_(new Handle(loop, this)) {}

Timer::~Timer() {
  if (handle_ == nullptr) return;  // The loop has stopped and closed the handle already.
  handle_->owner = nullptr;
  handle_->fn.reset();
  uv_timer_stop(&handle_->timer);
  handle_->Close();
}

void Timer::Start(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> fn) {
  if (handle_ == nullptr || uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_->timer))) {
    RAYX_LOG(Warning) << "Timer::Start on a stopped event loop is ignored";
    return;
  }
  handle_->fn = std::make_shared<std::function<void()>>(std::move(fn));
  uv_timer_start(&handle_->timer, &Handle::OnFire, timeout_ms, repeat_ms);
}

void Timer::Stop() {
  if (handle_ != nullptr) uv_timer_stop(&handle_->timer);
}

}  // namespace rayx
