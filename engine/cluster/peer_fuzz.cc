// Fuzz target: the peer protocol (engine/wire/peer.fbs) as a cluster member's listener reads it:
// the authentication exchange (auth.h) and, after it, membership and heartbeats
// (ClusterService::OnMessage, UnpackMember), fed frames that a peer could send.
//
// One ClusterService listens on loopback for the whole process. Each input is one TCP link:
//   byte 0: 0 or 3: the frames go to the listener before authentication (its Authenticator);
//           1: after authenticating as a peer; 2: as an observer;
//   then:   payloads, each a 2-byte little-endian length and that many bytes (a length past the
//           end takes what is left), sent as frames in order.
// After them a StatusRequest is sent, and the input is done when its StatusReply (or the close
// of the link) comes back. The member answering nothing within 20 s aborts: a hang is a finding.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>

#include "engine/cluster/blocking_dial.h"
#include "engine/cluster/cluster_service.h"
#include "engine/cluster/peer_wire.h"
#include "engine/loop/event_loop.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

constexpr char kToken[] = "peer-fuzz";
constexpr int kAnswerTimeoutMs = 20000;

struct Member {
  EventLoop loop;
  std::unique_ptr<ClusterService> service;
  std::string address;
};

Member* TheMember() {
  static Member* member = [] {
    signal(SIGPIPE, SIG_IGN);
    if (getenv("RAYX_LOG_LEVEL") == nullptr) setenv("RAYX_LOG_LEVEL", "error", 1);
    auto* m = new Member();  // Lives as long as the process.
    if (!m->loop.Start().ok()) abort();
    std::promise<Status> started;
    m->loop.Post([m, &started] {
      ClusterOptions options;
      options.token = kToken;
      m->service = std::make_unique<ClusterService>(&m->loop, NodeID::FromRandom(),
                                                    "/nonexistent/peer-fuzz.sock", options,
                                                    [](MemberState* self) {
                                                      self->total = {{"CPU", 4}};
                                                      self->available = {{"CPU", 2}};
                                                    });
      // A client link (a member's, or a driver's over TCP) is the envelope target's; closed here.
      m->service->SetClientHandler([](std::shared_ptr<Connection> c, peer::LinkPurpose) {
        c->Close(Cancelled("not served by peer_fuzz"));
      });
      Status status = m->service->Start();
      if (status.ok()) m->address = m->service->address();
      started.set_value(status);
    });
    Status status = started.get_future().get();
    if (!status.ok()) {
      fprintf(stderr, "peer_fuzz: the member did not start: %s\n", status.ToString().c_str());
      abort();
    }
    return m;
  }();
  return member;
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until a StatusReply or the end of the link.
void AwaitAnswer(int fd) {
  FrameDecoder decoder(kMaxPeerFrameSize);
  bool answered = false;
  char buf[1 << 16];
  while (!answered) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kAnswerTimeoutMs) == 0) {
      fprintf(stderr, "peer_fuzz: the member answered nothing for %d ms\n", kAnswerTimeoutMs);
      abort();
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;  // Closed by the member: the input broke the protocol.
    Status status = decoder.Feed(buf, static_cast<size_t>(n), [&](std::string_view frame) {
      auto envelope = ParsePeer(frame);
      if (!envelope.ok()) {
        fprintf(stderr, "peer_fuzz: the member sent a frame that does not verify\n");
        abort();
      }
      if ((*envelope)->message_type() == peer::PeerMessage::StatusReply) answered = true;
    });
    if (!status.ok()) {
      fprintf(stderr, "peer_fuzz: the member sent a bad frame: %s\n", status.ToString().c_str());
      abort();
    }
  }
}

}  // namespace
}  // namespace rayx

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  rayx::TheMember();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rayx;
  if (size < 1) return 0;
  Member* member = TheMember();
  std::string stream;
  for (size_t pos = 1; pos < size;) {
    size_t length = data[pos];
    if (pos + 1 < size) length |= static_cast<size_t>(data[pos + 1]) << 8;
    pos += 2;
    length = std::min(length, pos < size ? size - pos : 0);
    AppendFrame(&stream, std::string_view(reinterpret_cast<const char*>(data + pos), length));
    pos += length;
  }
  flatbuffers::FlatBufferBuilder b(64);
  AppendFrame(&stream, FinishPeer(b, peer::CreateStatusRequest(b)));

  StatusOr<int> fd = Status::OK();
  const int mode = data[0] % 4;
  if (mode == 1 || mode == 2) {
    fd = DialAuthenticated(member->address, kToken,
                           mode == 1 ? peer::LinkPurpose::Peer : peer::LinkPurpose::Observer);
  } else {
    fd = DialTcp(member->address, 5000);
  }
  if (!fd.ok()) {
    fprintf(stderr, "peer_fuzz: dial the member: %s\n", fd.status().ToString().c_str());
    abort();
  }
  WriteAll(*fd, stream);  // Cut short: the member closed the link, and AwaitAnswer sees it.
  AwaitAnswer(*fd);
  close(*fd);
  return 0;
}
