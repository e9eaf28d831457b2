// NodeConnection: a driver's or worker's connection to its node, with blocking calls.
//
// There is no reader thread: a thread that waits (Call, NextTask, Connect's wait for Welcome)
// reads the socket itself when no other thread is reading it, and routes every frame it reads: a
// reply to the caller waiting for its request id, an ExecuteTask to the task queue that
// NextTask() drains. When its own answer has come it stops reading and wakes the other waiters,
// one of which takes over. So a reply wakes the thread that wanted it directly, without a hand-off
// between threads (two context switches per round trip fewer). Frames that arrive while no thread
// waits stay in the socket until one does.
// Sends are serialized by a mutex, so any thread may send or call. When the connection breaks,
// every waiting call returns Unavailable and NextTask() returns nothing.
// A waiting thread asks the interrupt check (if one is set) about every 100 ms whether to give up
// (Ctrl-C in the driver): the call then returns Cancelled, and its reply, if it comes, is dropped.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/wire/frame.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

struct WelcomeInfo {
  NodeID node_id;
  JobID job_id;
  WorkerID worker_id;
  std::string session_dir;
};

class NodeConnection {
 public:
  // Connects, says Hello and waits for Welcome.
  static StatusOr<std::unique_ptr<NodeConnection>> Connect(const std::string& socket_path,
                                                           wire::Role role,
                                                           const WorkerID& worker_id);
  ~NodeConnection();  // Closes the socket.

  const WelcomeInfo& welcome() const { return welcome_; }

  // Returns true when a waiting call should give up. Called without locks held, from the waiting
  // thread. Set it before any other thread uses the connection.
  using InterruptCheck = std::function<bool()>;
  void SetInterruptCheck(InterruptCheck check) { interrupt_check_ = std::move(check); }

  // Sends one envelope (the bytes of a finished builder).
  Status Send(std::string_view envelope);
  // Sends two envelopes as two frames, first then second, with one system call.
  Status Send(std::string_view first, std::string_view second);

  // A fresh request id for Call.
  uint64_t NextRequestId();
  // Sends a request carrying request_id and blocks until the reply with the same id arrives.
  // The reply is the whole frame; parse it with ParseEnvelope.
  StatusOr<std::string> Call(uint64_t request_id, std::string_view envelope);

  // Worker role: blocks until the node sends a task; nullopt once the connection is closed, or
  // when the interrupt check said to give up (then *interrupted is set, if given).
  std::optional<std::string> NextTask(bool* interrupted = nullptr);

  // Shuts the socket down; waiting calls return Unavailable. Idempotent.
  void Close();

 private:
  NodeConnection() = default;
  // Returns with `lock` held once done() is true or the connection is closed (false), or when the
  // interrupt check said to give up (true), reading the socket meanwhile whenever no other thread
  // does. REQUIRES: lock holds mu_.
  template <typename Done>
  bool WaitFor(std::unique_lock<std::mutex>& lock, Done done);
  // Waits up to timeout_ms for the socket to be readable, then reads once and routes the frames
  // it completes. Closes on end of stream or error.
  // REQUIRES: this thread is the reader (reading_), and does not hold mu_.
  void ReadOnce(int timeout_ms);
  void Route(std::string frame);

  int fd_ = -1;
  WelcomeInfo welcome_;
  InterruptCheck interrupt_check_;
  // Used only by the thread that is the reader.
  FrameDecoder decoder_;
  std::string read_buffer_ = std::string(64 * 1024, '\0');

  std::mutex write_mu_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;                                          // GUARDED_BY(mu_)
  bool welcomed_ = false;                                        // GUARDED_BY(mu_)
  bool reading_ = false;  // A thread reads the socket now.      // GUARDED_BY(mu_)
  uint64_t next_request_id_ = 1;                                 // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::optional<std::string>> replies_;  // GUARDED_BY(mu_)
  std::deque<std::string> tasks_;                                // GUARDED_BY(mu_)
};

}  // namespace rayx
