#include "engine/client/node_channel.h"

#include <algorithm>

#include "engine/base/signals.h"
#include "engine/wire/frame.h"

namespace rayx {

NodeChannel::NodeChannel(std::unique_ptr<NodeConnection> connection)
    : connection_(std::move(connection)) {
  // The frames read with Welcome are handed over here, before any taker is added: they wait.
  connection_->SetFrameHandler([this](uint64_t link, std::string frame) {
    for (const FrameTaker& take : frame_takers_) {
      if (take(link, frame)) return;
    }
    if (!started_) unclaimed_.emplace_back(link, std::move(frame));
  });
}

void NodeChannel::AddFrameTaker(FrameTaker taker) {
  for (auto it = unclaimed_.begin(); it != unclaimed_.end();) {
    it = taker(it->first, it->second) ? unclaimed_.erase(it) : it + 1;
  }
  frame_takers_.push_back(std::move(taker));
}

NodeChannel::~NodeChannel() { Stop(); }

void NodeChannel::SetPendingSource(PendingSource source, std::function<bool()> source_empty) {
  pending_source_ = std::move(source);
  source_empty_ = std::move(source_empty);
}

void NodeChannel::AddUpkeep(Upkeep upkeep) { upkeeps_.push_back(std::move(upkeep)); }

void NodeChannel::Start() {
  {
    // Senders read it under mu_; the frame handler reads it only before other threads start.
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  unclaimed_.clear();
  flusher_ = std::thread([this] { FlushLoop(); });
}

void NodeChannel::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Flush();  // An orderly end says what waits; a lost connection frees it anyway.
  // The parts that registered may go now: nothing calls into them any more.
  std::lock_guard<std::mutex> order(order_mu_);
  pending_source_ = nullptr;
  source_empty_ = nullptr;
  upkeeps_.clear();
}

std::string NodeChannel::TakeWaiting() {
  std::string frames;
  {
    std::lock_guard<std::mutex> lock(mu_);
    frames.swap(deferred_);
    soon_ = held_ = false;  // Nothing of SendSoon's or HoldUntilWait's waits now.
  }
  if (pending_source_) pending_source_(&frames);
  return frames;
}

Status NodeChannel::Send(std::string_view envelope) {
  std::lock_guard<std::mutex> order(order_mu_);
  std::string waiting = TakeWaiting();
  if (waiting.empty()) return connection_->Send(envelope);
  return connection_->SendFramed(waiting, envelope);
}

Status NodeChannel::SendRaw(const std::unique_lock<std::mutex>& order, std::string_view envelope) {
  (void)order;
  return connection_->Send(envelope);
}

StatusOr<std::string> NodeChannel::Call(uint64_t request_id, std::string_view envelope) {
  Flush();  // Not with the request: the order lock must not be held while the call waits.
  return connection_->Call(request_id, envelope);
}

void NodeChannel::Defer(std::string_view envelope) {
  std::lock_guard<std::mutex> lock(mu_);
  AppendFrame(&deferred_, envelope);
  wake_ = true;
  if (asleep_) cv_.notify_one();
}

Status NodeChannel::SendSoon(std::string_view envelope) {
  auto now = std::chrono::steady_clock::now();
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool in_burst = now - last_soon_ < kBurstGap;
    last_soon_ = now;
    // The first of a burst goes at once (a lone call waits for nothing, and wakes no flusher);
    // without a flusher nothing would send it later.
    if (in_burst && started_ && !stopping_) {
      AppendFrame(&deferred_, envelope);
      if (deferred_.size() < kSoonBytes) {
        ArmLocked(now);
        return Status::OK();
      }
    } else {
      lock.unlock();
      return Send(envelope);
    }
  }
  return SendWaiting();
}

void NodeChannel::HoldUntilWait(std::string_view envelope) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (started_ && !stopping_) {
      AppendFrame(&deferred_, envelope);
      held_ = true;
      if (deferred_.size() < kSoonBytes) return;
    } else {
      lock.unlock();
      (void)Send(envelope);  // A lost connection shows in the next call.
      return;
    }
  }
  (void)SendWaiting();
}

void NodeChannel::HoldBriefly(std::string_view envelope, bool soon) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ && !stopping_) {
      AppendFrame(&deferred_, envelope);
      held_ = true;
      if (soon) {
        ArmLocked(std::chrono::steady_clock::now());  // Wakes the flusher once per batch.
      } else {
        wake_ = true;  // The flusher's round bounds the wait.
        if (asleep_) cv_.notify_one();
      }
      return;
    }
  }
  (void)Send(envelope);  // No flusher: at once. A lost connection shows in the next call.
}

void NodeChannel::ArmLocked(std::chrono::steady_clock::time_point now) {
  if (soon_) return;  // The batch has its deadline, and the flusher its alarm.
  soon_ = true;
  soon_by_ = now + kSoonDelay;
  wake_ = true;
  cv_.notify_one();
}

void NodeChannel::ArmHeld() {
  std::lock_guard<std::mutex> lock(mu_);
  if (held_) ArmLocked(std::chrono::steady_clock::now());
}

Status NodeChannel::SendWaiting() {
  std::lock_guard<std::mutex> order(order_mu_);
  std::string waiting = TakeWaiting();
  if (waiting.empty()) return Status::OK();  // Another thread sent them meanwhile.
  return connection_->SendFramed(waiting, std::string_view());
}

void NodeChannel::FlushSoon() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!soon_ && !held_) return;
  }
  Flush();
}

void NodeChannel::Flush() {
  std::lock_guard<std::mutex> order(order_mu_);
  std::string waiting = TakeWaiting();
  // A lost connection frees everything anyway.
  if (!waiting.empty()) (void)connection_->SendFramed(waiting, std::string_view());
}

void NodeChannel::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = true;
  if (asleep_) cv_.notify_one();
}

void NodeChannel::FlushLoop() {
  BlockProcessSignals();  // They are the main thread's (signals.h).
  bool idle = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (idle && !wake_) {
      asleep_ = true;
      cv_.wait(lock, [&] { return stopping_ || wake_; });
      asleep_ = false;
      continue;
    }
    wake_ = false;
    // Waiting frames get kFlushDelay to travel with another frame first, a submission kSoonDelay
    // (SendSoon wakes this wait when it sets a deadline).
    auto until = std::chrono::steady_clock::now() + kFlushDelay;
    while (!stopping_) {
      auto limit = soon_ ? std::min(until, soon_by_) : until;
      if (std::chrono::steady_clock::now() >= limit) break;
      cv_.wait_until(lock, limit);
    }
    if (stopping_) break;
    lock.unlock();
    Flush();
    bool active = false;
    for (const Upkeep& upkeep : upkeeps_) active |= upkeep();
    bool source_idle = !source_empty_ || source_empty_();
    lock.lock();
    // Whatever arrived since this round began set wake_ (see Defer and Wake): not lost.
    idle = !active && source_idle && deferred_.empty();
  }
}

}  // namespace rayx
