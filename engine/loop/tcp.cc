// TCP for Connection: a connect with a bounded wait, and a listener that accepts with a uv_poll_t
// over its own socket and hands each accepted socket to Connection::Adopt.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "engine/base/logging.h"
#include "engine/loop/callback_guard.h"
#include "engine/loop/connection.h"
#include "engine/loop/inet_address.h"

namespace rayx {
namespace {

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

StatusOr<std::shared_ptr<Connection>> Connection::ConnectTcp(EventLoop* loop,
                                                             const std::string& host, uint16_t port,
                                                             int timeout_ms) {
  RAYX_ASSIGN_OR_RETURN(sockaddr_in addr, ResolveIPv4(host, port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  // On Linux SO_SNDTIMEO bounds a blocking connect.
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    Status status = ErrnoError("connect " + host + ":" + std::to_string(port), errno);
    close(fd);
    return status;
  }
  timeval none{0, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  SetNoDelay(fd);
  return Adopt(loop, fd);
}

// Owns the listening socket and its poll handle. Lives until the close callback.
struct TcpListener::Handle : internal::HandleHolder {
  Handle(EventLoop* loop, TcpListener* owner, int fd) : HandleHolder(loop), owner(owner), fd(fd) {
    RAYX_CHECK(uv_poll_init(loop->uv(), &poll, fd) == 0);
    poll.data = this;
  }

  void Close() {
    auto* handle = reinterpret_cast<uv_handle_t*>(&poll);
    if (!uv_is_closing(handle)) uv_close(handle, &Handle::OnClosed);
  }

  void CloseForStop() override { Close(); }

  static void OnReadable(uv_poll_t* poll, int status, int /*events*/) {
    auto* self = static_cast<Handle*>(poll->data);
    GuardCallback("TcpListener poll callback", [&] {
      if (status < 0) {
        RAYX_LOG(Warning) << "TCP listener: " << uv_strerror(status);
        return;
      }
      // A bounded number of accepts per wake-up, so one busy listener cannot starve the loop.
      for (int i = 0; i < 64; ++i) {
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        int fd = accept4(self->fd, reinterpret_cast<sockaddr*>(&peer), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            RAYX_LOG(Warning) << "TCP accept: " << std::strerror(errno);
          }
          return;
        }
        SetNoDelay(fd);
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        std::string from = std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port));
        auto conn = Connection::Adopt(self->loop_, fd);
        if (!conn.ok()) continue;
        std::shared_ptr<Connection> accepted = std::move(conn).value();
        const bool ok = GuardCallback("TcpListener accept handler", [&] {
          if (self->on_accept) self->on_accept(accepted, from);
        });
        if (!ok) accepted->Close(Internal("exception in the accept handler; connection closed"));
      }
    });
  }

  static void OnClosed(uv_handle_t* handle) {
    GuardCallback("TcpListener close callback", [handle] {
      auto* self = static_cast<Handle*>(handle->data);
      if (self->owner != nullptr) self->owner->handle_ = nullptr;
      close(self->fd);
      self->Unregister();
      delete self;
    });
  }

  uv_poll_t poll;
  TcpListener* owner;
  int fd;
  AcceptHandler on_accept;
};

TcpListener::TcpListener(EventLoop* loop) : loop_(loop) {}

TcpListener::~TcpListener() { Close(); }

Status TcpListener::Listen(const std::string& host, uint16_t port, AcceptHandler on_accept) {
  if (handle_ != nullptr) return FailedPrecondition("already listening");
  RAYX_ASSIGN_OR_RETURN(sockaddr_in addr, ResolveIPv4(host, port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    Status status = ErrnoError("listen on " + host + ":" + std::to_string(port), errno);
    close(fd);
    return status;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.sin_port);
  auto* handle = new Handle(loop_, this, fd);
  handle->on_accept = std::move(on_accept);
  int rc = uv_poll_start(&handle->poll, UV_READABLE, &Handle::OnReadable);
  if (rc != 0) {
    handle->owner = nullptr;
    handle->Close();
    return IoError(std::string("uv_poll_start: ") + uv_strerror(rc));
  }
  handle_ = handle;
  return Status::OK();
}

void TcpListener::Close() {
  if (handle_ != nullptr) {
    handle_->owner = nullptr;
    handle_->Close();
    handle_ = nullptr;
  }
}

}  // namespace rayx
