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
//
// Direct links: besides the node's socket, the reader reads the links this process has to other
// processes of its node, for direct task submission (protocol.fbs). An owner opens a link to each
// worker it leases (OpenLink); a worker listens for links (Listen) and takes tasks from them as
// from the node. Frames that are neither replies nor tasks (TaskDone on a link, a lease message
// from the node) go to the frame handler, which the reading thread calls without locks held; a
// link that closes is reported to it with an empty frame. Link 0 is the node.
// In a driver, a thread that waits for an answer it asked for (a reply, or what WaitUntil waits
// for) first polls the sockets without sleeping, yielding its CPU between polls, for up to the
// spin budget (kDefaultSpinWait, or RAYX_SPIN_WAIT_US microseconds; 0 turns it off), and only
// then sleeps in poll(2). An answer that comes within the budget then costs the driver no
// wake-up, which in a virtual machine is the larger part of a short round trip. Workers never
// spin: they run beside other workers, whose CPU time the spinning would take.
// A waiting thread asks the interrupt check (if one is set) about every 100 ms whether to give up
// (Ctrl-C in the driver): the call then returns Cancelled, and its reply, if it comes, is dropped.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/wire/frame.h"
#include "engine/wire/protocol_generated.h"
#include "engine/wire/socket_paths.h"

namespace rayx {

class NodeConnection {
 public:
  // Connects, says Hello and waits for Welcome.
  static StatusOr<std::unique_ptr<NodeConnection>> Connect(const std::string& socket_path,
                                                           wire::Role role,
                                                           const WorkerID& worker_id);
  // A driver on another machine: connects over TCP to the member at host_port (HOST:PORT),
  // proves that it knows the cluster token (engine/cluster/auth.h, LinkPurpose::Driver; the token
  // never crosses the wire), then says Hello{Driver} and waits for Welcome. A refused token is an
  // error that says so. The connection has no direct links (remote() is true).
  static StatusOr<std::unique_ptr<NodeConnection>> ConnectOverTcp(const std::string& host_port,
                                                                  const std::string& token);
  // Attached over TCP: no shared memory with the node, no worker reachable.
  bool remote() const { return remote_; }
  // How long a wait for an answer spins before it sleeps (see above): 0 for a worker.
  std::chrono::microseconds spin_wait() const { return spin_wait_; }
  ~NodeConnection();  // Closes the socket.

  const WelcomeInfo& welcome() const { return welcome_; }

  // Returns true when a waiting call should give up. Called without locks held, from the waiting
  // thread. Set it before any other thread uses the connection.
  using InterruptCheck = std::function<bool()>;
  void SetInterruptCheck(InterruptCheck check) { interrupt_check_ = std::move(check); }

  // Receives frames that are neither replies nor tasks: (link, frame), link 0 for the node, and
  // (link, "") when a link closed. Called by whichever thread reads, without locks held; it may
  // send. Set it before any other thread uses the connection.
  using FrameHandler = std::function<void(uint64_t link, std::string frame)>;
  // Frames read before a handler is set (Connect reads what came with Welcome, a cancel for a task
  // sent right after it, say) are kept and handed to it when it is set.
  void SetFrameHandler(FrameHandler handler);

  // Worker: listens at path for direct links (before saying Hello, so that a leased worker can
  // always be reached). Links it accepts must start with Hello.
  Status Listen(const std::string& path);
  // Worker: stops taking direct links (it became an actor's: only the node sends it calls).
  // Links it accepted are closed.
  void StopListening();
  // Opens a direct link to the worker listening at path and says Hello; returns the link's id.
  StatusOr<uint64_t> OpenLink(const std::string& path, wire::Role role, const WorkerID& worker_id);
  // Sends one envelope on a link; Unavailable once the link is closed.
  Status SendOnLink(uint64_t link, std::string_view envelope);
  // Closes a link (not reported to the frame handler).
  void CloseLink(uint64_t link);

  // Blocks, reading meanwhile, until done() holds (true), the connection closes, timeout_ms passes
  // (negative: no timeout) or the interrupt check says to give up (false; *interrupted is set).
  // done() runs with the connection's lock held: it may take locks of its own, but the frame
  // handler must not need this connection's lock while it holds those.
  bool WaitUntil(const std::function<bool()>& done, int64_t timeout_ms, bool* interrupted);

  // Sends one envelope (the bytes of a finished builder).
  Status Send(std::string_view envelope);
  // Sends two envelopes as two frames, first then second, with one system call.
  Status Send(std::string_view first, std::string_view second);
  // Sends bytes that are whole frames already (headers included), then envelope as one more
  // frame (unless it is empty), with one system call.
  Status SendFramed(std::string_view frames, std::string_view envelope);
  // Reads what has arrived, without waiting, unless another thread reads now.
  void Poll();
  // Reads and routes everything that has arrived on the node's socket and the links by now. When
  // another thread reads, waits for its turn to end first (taking the next turn before that
  // thread takes another), for at most timeout_ms. For a worker told by a signal to look for a
  // message that was in its socket before the signal was sent.
  void ReadArrived(int timeout_ms = 500);
  // Worker: queues a verified envelope for NextTask, as if it had come from the node (the
  // executor's cancel notices for an actor that serves calls concurrently).
  void QueueForNextTask(std::string frame);
  // Worker: whether a task has arrived that NextTask would hand out without waiting.
  bool HasQueuedTask();

  // A fresh request id for Call.
  uint64_t NextRequestId();
  // Sends a request carrying request_id and blocks until the reply with the same id arrives.
  // The reply is the whole frame; parse it with ParseEnvelope.
  StatusOr<std::string> Call(uint64_t request_id, std::string_view envelope);

  // Worker role: blocks until the node or a direct link sends a task; nullopt once the connection
  // is closed, or when the interrupt check said to give up (then *interrupted is set, if given).
  // *link is where the task came from (0: the node). Every frame this returns was verified when
  // it arrived.
  std::optional<std::string> NextTask(bool* interrupted = nullptr, uint64_t* link = nullptr);

  // Shuts the socket down; waiting calls return Unavailable. Idempotent.
  void Close();

  // In a child forked from this process: closes the child's copies of the sockets (the node's,
  // the listening one and the links), so that the child keeps no link open after its parent dies
  // and an owner waiting on it sees the end. Touches no lock (their holders may not exist in the
  // child) and does not shut anything down (that would cut the parent off too). The connection
  // must not be used afterwards.
  void AbandonInForkedChild();

 private:
  // A direct link to another process of this node.
  struct Link {
    ~Link();
    int fd = -1;
    bool accepted = false;  // The other end opened it: its first frame must be Hello.
    bool greeted = false;
    FrameDecoder decoder;  // Used only by the reader.
    std::mutex write_mu;
  };
  struct QueuedTask {
    uint64_t link = 0;
    std::string frame;
  };

  NodeConnection() = default;
  // Says Hello on the connected fd_ and waits for Welcome; where names the node for errors.
  Status Greet(wire::Role role, const WorkerID& worker_id, const std::string& where);
  // Returns with `lock` held once done() is true or the connection is closed (false), or when the
  // interrupt check said to give up (true), reading the socket meanwhile whenever no other thread
  // does. REQUIRES: lock holds mu_.
  // spin: whether to spin before sleeping (see the comment at the top), on the first read of
  // the wait only.
  template <typename Done>
  bool WaitFor(std::unique_lock<std::mutex>& lock, Done done, bool spin,
               std::chrono::steady_clock::time_point deadline =
                   std::chrono::steady_clock::time_point::max());
  // Waits up to timeout_ms for the socket to be readable (spinning first for up to spin_wait_
  // when spin is set), then reads once and routes the frames it completes. Closes on end of
  // stream or error. Returns whether anything was readable.
  // REQUIRES: this thread is the reader (reading_), and does not hold mu_.
  bool ReadOnce(int timeout_ms, bool spin = false);
  // Reads until nothing more is readable now (at most kMaxDrainReads reads).
  // REQUIRES: this thread is the reader (reading_), and does not hold mu_.
  void Drain();
  // Takes the reader's turn: drains what has arrived with lock released, then wakes the waiters.
  // REQUIRES: lock holds mu_ and no other thread reads.
  void ReadAsReader(std::unique_lock<std::mutex>& lock);
  static constexpr int kMaxDrainReads = 64;
  // The spin budget unless RAYX_SPIN_WAIT_US says otherwise.
  static constexpr auto kDefaultSpinWait = std::chrono::microseconds(50);
  // Set by Greet, before any other thread uses the connection: 0 for a worker.
  std::chrono::microseconds spin_wait_{0};
  static std::chrono::microseconds SpinWaitFromEnvironment();
  // A queued task older than this since the last read is handed out only after a Drain, so that a
  // CancelTask that came meanwhile (an actor's worker busy with the call before) is seen first.
  static constexpr auto kStaleRead = std::chrono::milliseconds(1);
  void Route(std::string frame);
  // Reads what a link has; closes it on end of stream or a bad frame.
  void ReadLink(uint64_t id, const std::shared_ptr<Link>& link);
  // False when the frame has no business on this link (the link is then closed).
  bool RouteLinkFrame(uint64_t id, Link* link, std::string frame);
  void DropLink(uint64_t id, bool report);
  // Closes the connection for a reason that waiting calls then report. Takes mu_.
  void CloseWith(const std::string& reason);
  // Why waiting calls fail once the connection is closed. REQUIRES: mu_ is held.
  std::string LostMessage() const;
  void AcceptLinks();
  void CallHandler(uint64_t link, std::string frame);

  int fd_ = -1;
  bool remote_ = false;
  int listen_fd_ = -1;
  std::string listen_path_;
  WelcomeInfo welcome_;
  InterruptCheck interrupt_check_;
  FrameHandler frame_handler_;
  // Frames for the handler that came before it was set. GUARDED_BY(mu_)
  std::vector<std::pair<uint64_t, std::string>> early_frames_;
  // Used only by the thread that is the reader.
  FrameDecoder decoder_;
  std::string read_buffer_ = std::string(64 * 1024, '\0');

  std::mutex write_mu_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;       // GUARDED_BY(mu_)
  std::string close_reason_;  // Why it was closed, when it was us. GUARDED_BY(mu_)
  bool welcomed_ = false;     // GUARDED_BY(mu_)
  bool reading_ = false;      // A thread reads the socket now.      // GUARDED_BY(mu_)
  int drain_waiters_ = 0;     // Threads in ReadArrived waiting for their turn. GUARDED_BY(mu_)
  // When the last read turn ended. GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_read_;
  uint64_t next_request_id_ = 1;                                      // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::optional<std::string>> replies_;  // GUARDED_BY(mu_)
  std::deque<QueuedTask> tasks_;                                      // GUARDED_BY(mu_)
  uint64_t next_link_ = 1;                                            // GUARDED_BY(mu_)
  bool listening_ = false;  // listen_fd_ takes links.           // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::shared_ptr<Link>> links_;  // GUARDED_BY(mu_)
};

}  // namespace rayx
