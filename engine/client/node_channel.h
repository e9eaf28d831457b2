// NodeChannel: the one way a process's client runtime sends to its node, with the order its
// messages must keep and the frames that wait to travel with the next one.
//
// Some messages need not go at once: a directly submitted task's announcement, a worker's report
// of a direct task, batched reference removals. They wait (Defer, or the pending source's own
// batch) and go out in front of the next frame this process sends, in one system call, or on their
// own after kFlushDelay when nothing else is sent: the flusher thread sends them then. A burst
// of submissions (SendSoon) and a worker's results (HoldUntilWait) wait at most kSoonDelay, and
// go at once when kSoonBytes wait. The flusher
// also runs the upkeep callbacks components register (direct submission reads its links and
// gives back idle leases there); it sleeps while nothing waits and no upkeep asks to run.
//
// Order: every send goes out under the order lock, after whatever waits. A component that must
// decide what to send and send it before anybody else sends (a reference add must never overtake
// the removal of the same id) holds the lock itself (LockOrder) and sends with SendRaw.
//
// Lock order: the order lock, then the pending source's own lock; the channel's internal lock is
// a leaf. Callers must not hold locks of their own that the pending source or an upkeep takes.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/client/node_connection.h"

namespace rayx {

// How long a waiting frame may wait for another to travel with: short enough that an idle process
// frees what it dropped promptly, long enough that a busy one sends its batches with its frames.
inline constexpr auto kFlushDelay = std::chrono::milliseconds(5);
// How long a submission may wait for others to travel with (SendSoon), and how many bytes of
// waiting frames are sent at once: a burst of submissions goes in few system calls (the node reads
// them in few too), a lone one at most this late; a get or a wait sends it at once.
inline constexpr auto kSoonDelay = std::chrono::microseconds(200);
inline constexpr size_t kSoonBytes = 32u << 10;
// A submission that comes within this of the one before is part of a burst (SendSoon).
inline constexpr auto kBurstGap = std::chrono::microseconds(50);

class NodeChannel {
 public:
  // Appends the whole frames (headers included) it has waiting to frames, and forgets them.
  // Called with the order lock held.
  using PendingSource = std::function<void(std::string* frames)>;
  // Periodic work of a component, run by the flusher every kFlushDelay while any upkeep is
  // active; returns whether it still has work (false lets the flusher sleep). No lock held.
  using Upkeep = std::function<bool()>;

  explicit NodeChannel(std::unique_ptr<NodeConnection> connection);
  ~NodeChannel();  // Stop()s, then closes the connection.
  NodeChannel(const NodeChannel&) = delete;
  NodeChannel& operator=(const NodeChannel&) = delete;

  // Set before any other thread uses the channel; source_empty tells without taking the order
  // lock whether the source has nothing waiting (it may be briefly stale: the source then Wakes).
  void SetPendingSource(PendingSource source, std::function<bool()> source_empty);
  // Takes a frame that is neither a reply nor a task (see NodeConnection::FrameHandler): true
  // when it was this handler's. Handlers are asked in the order they were added. Add them before
  // any other thread uses the channel.
  using FrameTaker = std::function<bool(uint64_t link, std::string& frame)>;
  // A frame that came before the takers were added (with Welcome, say: a CancelTask for the task
  // sent right after it) is offered to each taker as it is added, until one takes it; Start()
  // drops what none took.
  void AddFrameTaker(FrameTaker taker);
  void AddUpkeep(Upkeep upkeep);
  // Starts the flusher. Call once the pending source and upkeeps are set.
  void Start();
  // Stops the flusher, sends what waits and forgets the pending source and the upkeeps, which may
  // go afterwards; the channel may still send. Idempotent.
  void Stop();

  NodeConnection& connection() { return *connection_; }
  const WelcomeInfo& welcome() const { return connection_->welcome(); }

  // Sends envelope after what waits.
  Status Send(std::string_view envelope);
  // Sends what waits, then the request, and blocks until its reply comes (see
  // NodeConnection::Call). The order lock is not held while the call waits.
  StatusOr<std::string> Call(uint64_t request_id, std::string_view envelope);
  uint64_t NextRequestId() { return connection_->NextRequestId(); }
  // Keeps envelope to go in front of the next send, or within kFlushDelay.
  void Defer(std::string_view envelope);
  // A submission: sent at once unless it comes within kBurstGap of the one before; then it
  // waits to go in front of the next send, or within kSoonDelay, or when kSoonBytes wait. Sent
  // at once, too, without a flusher (before Start, after Stop). An error only when it was sent
  // (a lost connection shows later otherwise).
  Status SendSoon(std::string_view envelope);
  // A worker's result from the thread that takes its tasks: waits, without waking the flusher,
  // until that thread waits for its next task (FlushSoon) or, when another task is queued
  // already, ArmHeld gives it kSoonDelay.
  void HoldUntilWait(std::string_view envelope);
  void ArmHeld();
  // A worker's result from another thread that others are about to follow: it waits for them as
  // HoldUntilWait's does, until FlushSoon or the next send, and at most kSoonDelay (soon: a
  // threaded actor's calls) or kFlushDelay (an async actor's loop, which calls FlushSoon after
  // its turn). While the flusher runs it makes no system call but a wake-up of the flusher, so
  // a caller may hold the GIL across it.
  void HoldBriefly(std::string_view envelope, bool soon);
  // Sends what waits now, if anything does.
  void Flush();
  // Sends what waits now if a frame of SendSoon's or HoldUntilWait's is among it; otherwise
  // leaves it waiting.
  void FlushSoon();
  // A pending source or upkeep has something new: the flusher starts running if it slept.
  void Wake();

  // The order lock, for SendRaw.
  std::unique_lock<std::mutex> LockOrder() { return std::unique_lock<std::mutex>(order_mu_); }
  // Sends envelope at once, without what waits. REQUIRES: order holds the order lock.
  Status SendRaw(const std::unique_lock<std::mutex>& order, std::string_view envelope);

  // Closes the connection: waiting calls return Unavailable. Idempotent.
  void Close() { connection_->Close(); }

 private:
  // What waits, headers included; "" when nothing does. REQUIRES: the order lock is held.
  std::string TakeWaiting();
  // Sends what waits, if anything does.
  Status SendWaiting();
  // Gives what waits kSoonDelay, waking the flusher, unless it has a deadline. REQUIRES: mu_.
  void ArmLocked(std::chrono::steady_clock::time_point now);
  void FlushLoop();

  std::unique_ptr<NodeConnection> connection_;
  PendingSource pending_source_;
  std::function<bool()> source_empty_;
  std::vector<Upkeep> upkeeps_;
  std::vector<FrameTaker> frame_takers_;
  // Frames no taker took before Start(), with their links (see AddFrameTaker). Touched only by the
  // thread that builds the channel, before any other uses it.
  std::vector<std::pair<uint64_t, std::string>> unclaimed_;
  bool started_ = false;

  std::mutex order_mu_;  // Taken before mu_, never while holding it.

  std::mutex mu_;
  std::condition_variable cv_;
  std::string deferred_;   // GUARDED_BY(mu_)
  bool wake_ = false;      // Something new since the flusher last looked. GUARDED_BY(mu_)
  bool asleep_ = false;    // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  // Whether deferred_ holds a frame of SendSoon's with a deadline, and when it must go; whether
  // it holds one of HoldUntilWait's; when SendSoon last came. GUARDED_BY(mu_)
  bool soon_ = false;
  std::chrono::steady_clock::time_point soon_by_;
  bool held_ = false;
  std::chrono::steady_clock::time_point last_soon_;
  std::thread flusher_;
};

}  // namespace rayx
