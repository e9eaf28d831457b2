#include "engine/cluster/observer_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "engine/cluster/auth.h"
#include "engine/cluster/cluster_service.h"
#include "engine/cluster/member_wire.h"
#include "engine/cluster/peer_wire.h"
#include "engine/loop/inet_address.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

class BlockingLink {
 public:
  BlockingLink(int fd, int timeout_ms)
      : fd_(fd),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)),
        decoder_(kMaxPeerFrameSize) {}
  ~BlockingLink() { close(fd_); }

  Status Send(std::string_view payload) {
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

  // The next frame, copied.
  StatusOr<std::string> Receive() {
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

 private:
  int fd_;
  std::chrono::steady_clock::time_point deadline_;
  FrameDecoder decoder_;
  std::vector<std::string> frames_;
};

StatusOr<int> ConnectTo(const std::string& address, int timeout_ms) {
  std::string host;
  uint16_t port = 0;
  RAYX_RETURN_IF_ERROR(ParseHostPort(address, &host, &port));
  RAYX_ASSIGN_OR_RETURN(sockaddr_in addr, ResolveIPv4(host, port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status status = ErrnoError("connect " + address, errno);
    close(fd);
    return status;
  }
  return fd;
}

}  // namespace

StatusOr<std::vector<MemberState>> QueryMembers(const std::string& address,
                                                const std::string& token, int timeout_ms) {
  RAYX_ASSIGN_OR_RETURN(int fd, ConnectTo(address, timeout_ms));
  BlockingLink link(fd, timeout_ms);
  Authenticator auth(Authenticator::Role::kDialer, token, peer::LinkPurpose::Observer);
  RAYX_RETURN_IF_ERROR(link.Send(auth.Begin()));
  while (!auth.done()) {
    StatusOr<std::string> frame = link.Receive();
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
    for (const std::string& f : out) RAYX_RETURN_IF_ERROR(link.Send(f));
    RAYX_RETURN_IF_ERROR(status);
  }
  flatbuffers::FlatBufferBuilder b(32);
  RAYX_RETURN_IF_ERROR(link.Send(FinishPeer(b, peer::CreateStatusRequest(b))));
  RAYX_ASSIGN_OR_RETURN(std::string frame, link.Receive());
  RAYX_ASSIGN_OR_RETURN(const peer::PeerEnvelope* envelope, ParsePeer(frame));
  const peer::StatusReply* reply = envelope->message_as_StatusReply();
  if (reply == nullptr || reply->members() == nullptr) return ProtocolError("expected StatusReply");
  std::vector<MemberState> members;
  for (const peer::MemberInfo* info : *reply->members()) {
    RAYX_ASSIGN_OR_RETURN(MemberState m, UnpackMember(info));
    members.push_back(std::move(m));
  }
  return members;
}

}  // namespace rayx
