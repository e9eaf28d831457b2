#include "engine/cluster/blocking_dial.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "engine/cluster/auth.h"
#include "engine/cluster/cluster_service.h"
#include "engine/cluster/peer_wire.h"
#include "engine/loop/inet_address.h"

namespace rayx {

BlockingLink::BlockingLink(int fd, int timeout_ms)
    : fd_(fd),
      deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)),
      decoder_(kMaxPeerFrameSize) {}

BlockingLink::~BlockingLink() {
  if (fd_ >= 0) close(fd_);
}

Status BlockingLink::Send(std::string_view payload) {
  std::string out;
  AppendFrame(&out, payload);
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("send", errno);
    sent += static_cast<size_t>(n);
  }
  return Status::OK();
}

StatusOr<std::string> BlockingLink::Receive() {
  while (frames_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline_ - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return TimedOut("no answer in time");
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return ErrnoError("poll", errno);
    if (rc == 0) continue;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("recv", errno);
    if (n == 0) return Unavailable("the node closed the connection");
    RAYX_RETURN_IF_ERROR(decoder_.Feed(buf, static_cast<size_t>(n),
                                       [this](std::string_view f) { frames_.emplace_back(f); }));
  }
  std::string f = std::move(frames_.front());
  frames_.erase(frames_.begin());
  return f;
}

Status BlockingLink::Authenticate(const std::string& token, peer::LinkPurpose purpose) {
  Authenticator auth(Authenticator::Role::kDialer, token, purpose);
  RAYX_RETURN_IF_ERROR(Send(auth.Begin()));
  while (!auth.done()) {
    StatusOr<std::string> frame = Receive();
    if (!frame.ok()) {
      // A listener that refused our proof closes the link, maybe before its answer arrives.
      if (auth.state() == Authenticator::State::kAwaitResult) {
        return AuthRefused(kTokenRefusedMessage);
      }
      return frame.status();
    }
    RAYX_ASSIGN_OR_RETURN(const peer::PeerEnvelope* envelope, ParsePeer(*frame));
    std::vector<std::string> out;
    Status status = auth.OnMessage(*envelope, &out);
    for (const std::string& f : out) RAYX_RETURN_IF_ERROR(Send(f));
    RAYX_RETURN_IF_ERROR(status);
  }
  return Status::OK();
}

StatusOr<int> BlockingLink::Release() {
  // The listener speaks again only when spoken to, so nothing may be left over.
  if (!frames_.empty() || decoder_.buffered() != 0) {
    return ProtocolError("the member sent more than the authentication");
  }
  timeval none{0, 0};
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  int fd = fd_;
  fd_ = -1;
  return fd;
}

StatusOr<int> DialTcp(const std::string& address, int timeout_ms) {
  std::string host;
  uint16_t port = 0;
  RAYX_RETURN_IF_ERROR(ParseHostPort(address, &host, &port));
  RAYX_ASSIGN_OR_RETURN(sockaddr_in addr, ResolveIPv4(host, port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status status = ErrnoError("connect " + address, errno);
    close(fd);
    return status;
  }
  return fd;
}

StatusOr<int> DialAuthenticated(const std::string& address, const std::string& token,
                                peer::LinkPurpose purpose, int timeout_ms) {
  RAYX_ASSIGN_OR_RETURN(int fd, DialTcp(address, timeout_ms));
  BlockingLink link(fd, timeout_ms);
  RAYX_RETURN_IF_ERROR(link.Authenticate(token, purpose));
  return link.Release();
}

}  // namespace rayx
