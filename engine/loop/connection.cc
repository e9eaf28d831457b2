#include "engine/loop/connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "engine/base/logging.h"
#include "engine/loop/callback_guard.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
// Write buffers that grew past this for a burst are released once drained.
constexpr size_t kMaxRetainedBuffer = 4u << 20;

Status UvStatus(const std::string& what, int code) {
  return IoError(what + ": " + uv_strerror(code));
}

void ReleaseOrClear(std::string* s) {
  if (s->capacity() > kMaxRetainedBuffer) {
    std::string().swap(*s);
  } else {
    s->clear();
  }
}

}  // namespace

// The uv handles and buffers of a connection. The handles live inside the Connection, which the
// loop keeps alive through `self` from Create() until both handles' close callbacks have run.
struct Connection::Impl : internal::HandleHolder {
  Impl(EventLoop* loop, Connection* conn) : HandleHolder(loop), conn(conn) {}

  void CloseForStop() override { conn->Close(Cancelled("event loop stopped")); }

  // Every libuv callback runs inside GuardCallback. If one throws (a frame or close handler, say,
  // or running out of memory), the connection is closed with an Internal error: the loop goes on
  // serving the others.
  void CloseAfterException(const char* where) {
    GuardCallback("the close of a connection whose callback threw", [&] {
      conn->Close(Internal(std::string("exception in ") + where + "; connection closed"));
    });
  }

  static void OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
    auto* impl = static_cast<Impl*>(handle->data);
    // An empty buffer makes libuv call OnRead with UV_ENOBUFS, which closes the connection.
    *buf = uv_buf_init(nullptr, 0);
    GuardCallback("Connection alloc callback", [&] {
      // The rest of a large frame is read straight into its place (no copy through read_buf).
      size_t room = 0;
      char* space = impl->decoder.ReadSpace(&room);
      impl->into_frame = space != nullptr && room >= kReadBufferSize;
      if (impl->into_frame) {
        *buf = uv_buf_init(space, static_cast<unsigned>(std::min<size_t>(room, 1u << 30)));
      } else {
        *buf = uv_buf_init(impl->read_buf.get(), kReadBufferSize);
      }
    });
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* impl = static_cast<Impl*>(stream->data);
    const bool ok = GuardCallback("Connection read callback", [&] {
      Connection* conn = impl->conn;
      if (nread > 0 && impl->into_frame) {
        conn->OnReadIntoFrame(static_cast<size_t>(nread));
      } else if (nread > 0) {
        conn->OnReadData(buf->base, static_cast<size_t>(nread));
      } else if (nread == UV_EOF) {
        conn->Close(Unavailable("peer closed the connection"));
      } else if (nread < 0) {
        conn->Close(UvStatus("read", static_cast<int>(nread)));
      }
    });
    if (!ok) impl->CloseAfterException("the read callback");
  }

  static void OnPrepare(uv_prepare_t* handle) {
    auto* impl = static_cast<Impl*>(handle->data);
    if (!GuardCallback("Connection flush callback", [impl] { impl->conn->Flush(); })) {
      impl->CloseAfterException("the flush callback");
    }
  }

  static void OnWrite(uv_write_t* req, int status) {
    auto* impl = static_cast<Impl*>(req->data);
    const bool ok = GuardCallback("Connection write callback", [impl, status] {
      impl->writing = false;
      ReleaseOrClear(&impl->in_flight);
      Connection* conn = impl->conn;
      if (status == UV_ECANCELED || conn->closed_) return;
      if (status < 0) {
        conn->Close(UvStatus("write", status));
        return;
      }
      if (!impl->out.empty()) {
        conn->ScheduleFlush();
      } else {
        impl->RunAfterWritten();
      }
    });
    if (!ok) impl->CloseAfterException("the write callback");
  }

  static void OnHandleClosed(uv_handle_t* handle) {
    GuardCallback("Connection close callback", [handle] {
      auto* impl = static_cast<Impl*>(handle->data);
      if (--impl->open_handles > 0) return;
      impl->Unregister();
      impl->on_frame = nullptr;
      // Dropping the loop's reference may destroy the connection, and impl with it.
      std::shared_ptr<Connection> self = std::move(impl->self);
    });
  }

  Connection* const conn;
  std::shared_ptr<Connection> self;  // Held from Create() until both handles are closed.
  uv_pipe_t pipe;
  uv_prepare_t flusher;  // Active while a flush is due: runs once per iteration, before the poll.
  int open_handles = 0;
  bool started = false;
  bool flush_scheduled = false;
  bool writing = false;  // write_req is in flight, over in_flight.
  uv_write_t write_req;
  std::string out;        // Frames queued since the last flush.
  std::string in_flight;  // Bytes handed to uv_write; kept until its callback.
  std::unique_ptr<char[]> read_buf;
  FrameDecoder decoder;
  FrameHandler on_frame;
  CloseHandler on_close;
  bool into_frame = false;  // The last buffer handed to libuv was the decoder's (ReadSpace).
  // Set by Rebind; they replace on_frame and on_close before the next frame or the close.
  bool rebound = false;
  FrameHandler next_on_frame;
  CloseHandler next_on_close;
  Status close_reason;
  std::vector<std::function<void()>> after_written;  // See AfterWritten.

  // Everything queued is in the kernel: the AfterWritten callbacks run (they may send or close).
  void RunAfterWritten() {
    if (after_written.empty()) return;
    std::vector<std::function<void()>> ready;
    ready.swap(after_written);
    for (auto& done : ready) done();
  }

  void ApplyRebind() {
    if (!rebound) return;
    rebound = false;
    on_frame = std::move(next_on_frame);
    on_close = std::move(next_on_close);
    next_on_frame = nullptr;
    next_on_close = nullptr;
  }
};

Connection::Connection(EventLoop* loop) : loop_(loop), impl_(new Impl(loop, this)) {}

Connection::~Connection() {
  RAYX_CHECK(impl_->open_handles == 0) << "connection destroyed with its handles open";
}

std::shared_ptr<Connection> Connection::Create(EventLoop* loop) {
  std::shared_ptr<Connection> conn(new Connection(loop));
  Impl* impl = conn->impl_.get();
  // Neither can fail on Unix: they only fill in the structures.
  RAYX_CHECK(uv_pipe_init(loop->uv(), &impl->pipe, 0) == 0);
  RAYX_CHECK(uv_prepare_init(loop->uv(), &impl->flusher) == 0);
  impl->pipe.data = impl;
  impl->flusher.data = impl;
  impl->write_req.data = impl;
  impl->open_handles = 2;
  impl->self = conn;
  return conn;
}

uv_stream_t* Connection::stream() { return reinterpret_cast<uv_stream_t*>(&impl_->pipe); }

StatusOr<std::shared_ptr<Connection>> Connection::ConnectUnix(EventLoop* loop,
                                                              const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("bad Unix socket path '" + path + "'");
  }
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  // A blocking connect: on a Unix socket it completes at once unless the backlog is full.
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  while (rc != 0 && errno == EINTR) {
    rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    if (rc != 0 && errno == EISCONN) rc = 0;
  }
  if (rc != 0) {
    Status status = ErrnoError("connect " + path, errno);
    close(fd);
    return status;
  }

  std::shared_ptr<Connection> conn = Create(loop);
  rc = uv_pipe_open(&conn->impl_->pipe, fd);
  if (rc != 0) {
    close(fd);  // Not adopted by the handle.
    Status status = UvStatus("uv_pipe_open " + path, rc);
    conn->Close(status);
    return status;
  }
  return conn;
}

StatusOr<std::shared_ptr<Connection>> Connection::Adopt(EventLoop* loop, int fd) {
  std::shared_ptr<Connection> conn = Create(loop);
  int rc = uv_pipe_open(&conn->impl_->pipe, fd);
  if (rc != 0) {
    close(fd);  // Not adopted by the handle.
    Status status = UvStatus("uv_pipe_open", rc);
    conn->Close(status);
    return status;
  }
  return conn;
}

void Connection::set_max_frame_size(uint32_t max_frame) {
  impl_->decoder.set_max_frame(std::min(max_frame, kMaxFrameSize));
}

void Connection::Start(FrameHandler on_frame, CloseHandler on_close) {
  RAYX_CHECK(!impl_->started) << "Connection::Start called twice";
  impl_->started = true;
  if (closed_) {
    // Closed before it was started (by the loop stopping, say): report it now.
    if (on_close) on_close(impl_->close_reason);
    return;
  }
  impl_->on_frame = std::move(on_frame);
  impl_->on_close = std::move(on_close);
  impl_->read_buf.reset(new char[kReadBufferSize]);
  int rc = uv_read_start(stream(), &Impl::OnAlloc, &Impl::OnRead);
  if (rc != 0) Close(UvStatus("uv_read_start", rc));
}

void Connection::Rebind(FrameHandler on_frame, CloseHandler on_close) {
  impl_->rebound = true;
  impl_->next_on_frame = std::move(on_frame);
  impl_->next_on_close = std::move(on_close);
}

void Connection::OnReadIntoFrame(size_t n) {
  if (closed_) return;
  impl_->decoder.Commit(n, [this](std::string_view frame) {
    impl_->ApplyRebind();
    if (!closed_ && impl_->on_frame) impl_->on_frame(frame);
  });
}

void Connection::OnReadData(const char* data, size_t n) {
  if (closed_) return;
  Status status = impl_->decoder.Feed(data, n, [this](std::string_view frame) {
    impl_->ApplyRebind();
    // The handler may close the connection; the frames after that are dropped.
    if (!closed_ && impl_->on_frame) impl_->on_frame(frame);
  });
  if (!status.ok()) Close(status);
}

bool Connection::Send(std::string_view payload) {
  if (closed_) return false;
  if (payload.size() > kMaxFrameSize) {
    // The peer would reject it; closing says so here rather than there.
    Close(InvalidArgument("outgoing frame of " + std::to_string(payload.size()) +
                          " bytes exceeds the frame limit"));
    return false;
  }
  AppendFrame(&impl_->out, payload);
  pending_bytes_ = impl_->out.size();
  ScheduleFlush();
  return true;
}

void Connection::ScheduleFlush() {
  // While a write is in flight, its callback schedules the next flush.
  if (impl_->flush_scheduled || impl_->writing) return;
  impl_->flush_scheduled = true;
  uv_prepare_start(&impl_->flusher, &Impl::OnPrepare);
}

void Connection::Flush() {
  uv_prepare_stop(&impl_->flusher);
  impl_->flush_scheduled = false;
  if (closed_ || impl_->writing || impl_->out.empty()) return;

  // First try to hand everything to the kernel at once, which needs no copy and no request.
  size_t written = 0;
  if (impl_->out.size() <= static_cast<size_t>(INT_MAX)) {
    uv_buf_t buf = uv_buf_init(impl_->out.data(), static_cast<unsigned>(impl_->out.size()));
    int n = uv_try_write(stream(), &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
      Close(UvStatus("write", n));
      return;
    }
    if (n > 0) written = static_cast<size_t>(n);
    if (written == impl_->out.size()) {
      ReleaseOrClear(&impl_->out);
      pending_bytes_ = 0;
      impl_->RunAfterWritten();
      return;
    }
  }

  // The rest goes out with one uv_write; its buffer stays untouched until the callback.
  impl_->in_flight.swap(impl_->out);  // in_flight was empty.
  uv_buf_t buf = uv_buf_init(impl_->in_flight.data() + written,
                             static_cast<unsigned>(impl_->in_flight.size() - written));
  int rc = uv_write(&impl_->write_req, stream(), &buf, 1, &Impl::OnWrite);
  if (rc != 0) {
    Close(UvStatus("write", rc));  // The callback will not run.
    return;
  }
  impl_->writing = true;
  pending_bytes_ = 0;
}

void Connection::AfterWritten(std::function<void()> done) {
  if (closed_) return;
  if (!impl_->writing && !impl_->out.empty()) Flush();  // Hands what waits to the kernel now.
  if (closed_) return;
  if (!impl_->writing && impl_->out.empty()) {
    done();
    return;
  }
  impl_->after_written.push_back(std::move(done));
}

size_t Connection::pending_write_bytes() const {
  if (closed_) return 0;
  size_t in_kernel_queue = 0;
  if (impl_->writing) {
    in_kernel_queue =
        uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&impl_->pipe));
  }
  return pending_bytes_ + in_kernel_queue;
}

void Connection::Close(const Status& why) {
  if (closed_) return;
  closed_ = true;
  // The handles close first, before anything that can throw (copying why, logging): a connection
  // marked closed always has its handles closing. An in-flight write is cancelled by the close;
  // its callback runs before the close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->pipe), &Impl::OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->flusher), &Impl::OnHandleClosed);
  pending_bytes_ = 0;
  std::string().swap(impl_->out);
  impl_->after_written.clear();
  impl_->close_reason = why;
  RAYX_LOG(Debug) << "connection closed: " << why;
  impl_->ApplyRebind();
  CloseHandler handler = std::move(impl_->on_close);
  impl_->on_close = nullptr;
  if (handler) handler(why);
}

}  // namespace rayx
