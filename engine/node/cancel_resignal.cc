#include "engine/node/cancel_resignal.h"

#include <algorithm>

namespace rayx {

CancelResignal::CancelResignal(EventLoop* loop, Resignal resignal, uint64_t period_ms)
    : timer_(loop), resignal_(std::move(resignal)), period_ms_(period_ms) {}

void CancelResignal::Track(uint64_t key, const WorkerID& worker) {
  for (const auto& [tracked_key, tracked_worker] : tracked_) {
    if (tracked_key == key && tracked_worker == worker) return;  // Cancelled twice.
  }
  tracked_.emplace_back(key, worker);
  if (running_) return;
  running_ = true;
  timer_.Start(period_ms_, period_ms_, [this] { Tick(); });
}

void CancelResignal::Tick() {
  // resignal may not call Track (it only signals): the vector is not changed under the loop.
  tracked_.erase(std::remove_if(tracked_.begin(), tracked_.end(),
                                [this](const std::pair<uint64_t, WorkerID>& task) {
                                  return !resignal_(task.first, task.second);
                                }),
                 tracked_.end());
  if (!tracked_.empty()) return;
  timer_.Stop();  // Nothing is cancelled and running: no tick until the next cancel.
  running_ = false;
}

}  // namespace rayx
