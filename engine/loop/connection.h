// Connection: a framed, full-duplex stream (Unix socket or TCP) on an EventLoop.
//
// Incoming bytes are cut into frames (engine/wire/frame.h) and handed to the frame handler one by
// one. Outgoing frames are queued and written in one gathered uv_write per loop iteration, so many
// small messages cost one system call. A frame larger than kMaxFrameSize, a read error or EOF
// closes the connection and calls the close handler once with the reason.
//
// Exceptions: none crosses a libuv frame (engine/loop/callback_guard.h). If a frame or close
// handler throws, or a callback runs out of memory, the exception is logged and this connection is
// closed with an Internal error; the loop and the other connections go on. The same holds for an
// accepted connection whose accept handler throws.
//
// Thread: loop thread only, for every method. Connections are shared_ptr-owned; the loop keeps a
// reference while a uv request or the handle is open, so callers may drop theirs at any time.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/loop/event_loop.h"

namespace rayx {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // frame is the payload without its length prefix; valid only during the call.
  using FrameHandler = std::function<void(std::string_view frame)>;
  // Called once, when the connection is closed for whatever reason (including Close()).
  using CloseHandler = std::function<void(const Status& why)>;

  // Connects to a Unix socket path. The returned connection is open but not yet reading.
  static StatusOr<std::shared_ptr<Connection>> ConnectUnix(EventLoop* loop,
                                                           const std::string& path);

  // Connects to host:port over TCP (host: a numeric IPv4 address or a name). The connect blocks
  // the calling thread for at most timeout_ms; on loopback and on a refused port it returns at
  // once.
  static StatusOr<std::shared_ptr<Connection>> ConnectTcp(EventLoop* loop, const std::string& host,
                                                          uint16_t port, int timeout_ms);

  // Wraps a connected stream socket (Unix or TCP) and owns it from now on (closed on failure too).
  static StatusOr<std::shared_ptr<Connection>> Adopt(EventLoop* loop, int fd);

  ~Connection();

  // Frames with a payload over max_frame bytes close the connection (default kMaxFrameSize).
  // Call before Start().
  void set_max_frame_size(uint32_t max_frame);

  // Starts reading. REQUIRES: not started, not closed.
  void Start(FrameHandler on_frame, CloseHandler on_close);

  // Hands a started connection over to new handlers (a peer link that authenticated a client, for
  // one): the frames after the current one, and the close, go to them. Safe to call from inside
  // the frame handler being replaced; that handler is destroyed before the next frame.
  void Rebind(FrameHandler on_frame, CloseHandler on_close);

  // Queues one frame holding payload. Ignored after Close(). Returns false if closed.
  bool Send(std::string_view payload);

  // Runs done once every frame queued so far has been handed to the kernel: inside this call when
  // they can all be written now without blocking (the usual case), else from the write callback
  // that finishes them (frames queued meanwhile may delay it). Never runs if the connection closes
  // first. For a message that must be in the peer's socket before something else reaches the peer
  // (a signal to its process, say).
  void AfterWritten(std::function<void()> done);

  // Flushes nothing further, closes the handle, and calls the close handler with why. Idempotent.
  void Close(const Status& why);

  bool closed() const { return closed_; }
  // Bytes queued but not yet handed to the kernel; a sender may use it for back-pressure.
  size_t pending_write_bytes() const;

 private:
  friend class UnixListener;
  friend class TcpListener;
  explicit Connection(EventLoop* loop);
  struct Impl;

  // Creates a connection whose handle is initialized and held open by the loop. Loop thread only.
  static std::shared_ptr<Connection> Create(EventLoop* loop);
  uv_stream_t* stream();
  void ScheduleFlush();
  void Flush();
  void OnReadData(const char* data, size_t n);
  // n bytes were read into the decoder's space for a large frame (FrameDecoder::ReadSpace).
  void OnReadIntoFrame(size_t n);

  EventLoop* loop_;
  std::unique_ptr<Impl> impl_;
  bool closed_ = false;
  size_t pending_bytes_ = 0;  // Bytes in the outgoing buffer, not yet given to uv_write.
};

// Listens on a Unix socket path and hands each accepted connection, not yet started, to a handler.
// Loop thread only. Listen() removes a stale socket file at path first.
class UnixListener {
 public:
  using AcceptHandler = std::function<void(std::shared_ptr<Connection>)>;

  explicit UnixListener(EventLoop* loop);
  ~UnixListener();  // Closes the listening handle and removes the socket file.

  Status Listen(const std::string& path, AcceptHandler on_accept);
  void Close();

 private:
  struct Handle;
  EventLoop* loop_;
  Handle* handle_ = nullptr;  // Owned; deleted in the uv close callback.
  std::string path_;
};

// Listens on host:port over TCP and hands each accepted connection, not yet started, to a handler,
// with the peer's address as "ip:port". Loop thread only. Port 0 picks a free port (see port()).
class TcpListener {
 public:
  using AcceptHandler = std::function<void(std::shared_ptr<Connection>, const std::string& peer)>;

  explicit TcpListener(EventLoop* loop);
  ~TcpListener();  // Closes the listening handle.

  Status Listen(const std::string& host, uint16_t port, AcceptHandler on_accept);
  void Close();
  uint16_t port() const { return port_; }

 private:
  struct Handle;
  EventLoop* loop_;
  Handle* handle_ = nullptr;  // Owned; deleted in the uv close callback.
  uint16_t port_ = 0;
};

}  // namespace rayx
