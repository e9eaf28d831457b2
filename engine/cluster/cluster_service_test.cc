// Three ClusterServices, each on its own loop, on loopback.
#include "engine/cluster/cluster_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/cluster/auth.h"
#include "engine/cluster/member_wire.h"
#include "engine/cluster/observer_client.h"
#include "engine/cluster/peer_wire.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

template <typename F>
auto OnLoop(EventLoop* loop, F fn) -> decltype(fn()) {
  std::promise<decltype(fn())> done;
  loop->Post([&] { done.set_value(fn()); });
  return done.get_future().get();
}

class TestNode {
 public:
  TestNode(const std::string& token, const std::string& join, uint64_t timeout_ms = 1500) {
    EXPECT_TRUE(loop_.Start().ok());
    ClusterOptions options;
    options.join = join;
    options.token = token;
    options.heartbeat_interval_ms = 100;
    options.heartbeat_timeout_ms = timeout_ms;
    options.auth_timeout_ms = 500;
    id_ = NodeID::FromRandom();
    service_ =
        std::make_unique<ClusterService>(&loop_, id_, "/nowhere", options, [](MemberState* self) {
          self->total["CPU"] = 1;
          self->available["CPU"] = 1;
        });
    start_ = OnLoop(&loop_, [this] { return service_->Start(); });
    if (!start_.ok()) return;
    std::promise<Status> joined;
    loop_.Post([&] { service_->Join([&](Status s) { joined.set_value(s); }); });
    join_ = joined.get_future().get();
  }
  ~TestNode() { Stop(); }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    OnLoop(&loop_, [this] {
      service_.reset();
      return 0;
    });
    loop_.Stop();
  }

  int Alive() {
    return OnLoop(&loop_, [this] {
      int n = 0;
      for (const MemberState& m : service_->Members()) n += m.alive ? 1 : 0;
      return n;
    });
  }
  std::string address() {
    return OnLoop(&loop_, [this] { return service_->address(); });
  }
  uint16_t port() {
    std::string a = address();
    return static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }

  Status start_;
  Status join_;

 private:
  EventLoop loop_;
  NodeID id_;
  std::unique_ptr<ClusterService> service_;
  bool stopped_ = false;
};

// Waits until pred holds, for at most timeout_ms.
template <typename P>
bool WaitFor(P pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

int RawConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Whether the node closes fd within timeout_ms (reads until EOF, bounded).
bool ClosedWithin(int fd, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
  return false;
}

TEST(ClusterServiceTest, ThreeNodesSeeEachOtherAndNoneIsSpecial) {
  TestNode a("t", "");
  ASSERT_TRUE(a.start_.ok()) << a.start_;
  TestNode b("t", a.address());
  ASSERT_TRUE(b.join_.ok()) << b.join_;
  TestNode c("t", b.address());  // Through the second, not the first.
  ASSERT_TRUE(c.join_.ok()) << c.join_;
  EXPECT_TRUE(WaitFor([&] { return a.Alive() == 3 && b.Alive() == 3 && c.Alive() == 3; }, 3000));
  auto members = QueryMembers(c.address(), "t");
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->size(), 3u);
  // Still three after several heartbeat timeouts' worth of time: heartbeats keep them alive.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  EXPECT_EQ(a.Alive(), 3);
  EXPECT_EQ(c.Alive(), 3);
}

TEST(ClusterServiceTest, WrongOrMissingTokenIsRefusedAndNotCounted) {
  TestNode a("t", "");
  TestNode wrong("x", a.address());
  EXPECT_FALSE(wrong.join_.ok());
  EXPECT_NE(wrong.join_.message().find("token"), std::string::npos) << wrong.join_;
  TestNode missing("", a.address());
  EXPECT_FALSE(missing.join_.ok());
  EXPECT_NE(missing.join_.message().find("token"), std::string::npos) << missing.join_;
  EXPECT_EQ(a.Alive(), 1);
  auto refused = QueryMembers(a.address(), "nope");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("token"), std::string::npos);
}

TEST(ClusterServiceTest, SlowToAuthenticateIsClosed) {
  TestNode a("t", "");
  int fd = RawConnect(a.port());
  EXPECT_TRUE(ClosedWithin(fd, 3000));  // auth_timeout_ms is 500.
  close(fd);
  EXPECT_TRUE(QueryMembers(a.address(), "t").ok());
}

TEST(ClusterServiceTest, GarbageOrOversizedFramesCloseThatPeerOnly) {
  TestNode a("t", "");
  TestNode b("t", a.address());
  ASSERT_TRUE(b.join_.ok());
  int garbage = RawConnect(a.port());
  const char junk[] = "\x20\x00\x00\x00this is not a flatbuffer at all!!";
  ASSERT_GT(send(garbage, junk, sizeof(junk) - 1, 0), 0);
  EXPECT_TRUE(ClosedWithin(garbage, 2000));
  close(garbage);
  int huge = RawConnect(a.port());
  const char header[] = "\xff\xff\xff\x0f";  // 256 MiB: over the peer frame limit.
  ASSERT_GT(send(huge, header, 4, 0), 0);
  EXPECT_TRUE(ClosedWithin(huge, 2000));
  close(huge);
  EXPECT_TRUE(QueryMembers(a.address(), "t").ok());
  EXPECT_EQ(a.Alive(), 2);
  EXPECT_EQ(b.Alive(), 2);
}

// Authenticates over a raw socket (as a peer), then hands the socket to the test.
int AuthenticatedSocket(uint16_t port, const std::string& token) {
  int fd = RawConnect(port);
  Authenticator auth(Authenticator::Role::kDialer, token, peer::LinkPurpose::Peer);
  auto send_frame = [fd](std::string_view payload) {
    std::string out;
    AppendFrame(&out, payload);
    EXPECT_EQ(send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  };
  send_frame(auth.Begin());
  FrameDecoder decoder;
  std::vector<std::string> frames;
  for (int i = 0; i < 100 && !auth.done(); ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    EXPECT_TRUE(
        decoder
            .Feed(buf, static_cast<size_t>(n), [&](std::string_view f) { frames.emplace_back(f); })
            .ok());
    for (const std::string& f : frames) {
      std::vector<std::string> out;
      EXPECT_TRUE(auth.OnMessage(**ParsePeer(f), &out).ok());
      for (const std::string& o : out) send_frame(o);
    }
    frames.clear();
  }
  EXPECT_TRUE(auth.done());
  return fd;
}

TEST(ClusterServiceTest, MessagesOutOfProtocolCloseThatPeerOnly) {
  TestNode a("t", "");
  // A heartbeat before the peer introduced itself.
  int early = AuthenticatedSocket(a.port(), "t");
  flatbuffers::FlatBufferBuilder b(256);
  MemberState m;
  m.id = NodeID::FromRandom();
  std::string heartbeat(FinishPeer(b, peer::CreateHeartbeat(b, PackMember(b, m))));
  std::string framed;
  AppendFrame(&framed, heartbeat);
  ASSERT_GT(send(early, framed.data(), framed.size(), 0), 0);
  EXPECT_TRUE(ClosedWithin(early, 2000));
  close(early);
  // A second authentication on a link that is already authenticated.
  int again = AuthenticatedSocket(a.port(), "t");
  Authenticator fresh(Authenticator::Role::kDialer, "t");
  framed.clear();
  AppendFrame(&framed, fresh.Begin());
  ASSERT_GT(send(again, framed.data(), framed.size(), 0), 0);
  EXPECT_TRUE(ClosedWithin(again, 2000));
  close(again);
  EXPECT_EQ(a.Alive(), 1);
  EXPECT_TRUE(QueryMembers(a.address(), "t").ok());
}

TEST(ClusterServiceTest, SilentMemberIsDeclaredDeadByAll) {
  TestNode a("t", "", /*timeout_ms=*/800);
  TestNode b("t", a.address(), 800);
  TestNode c("t", a.address(), 800);
  ASSERT_TRUE(WaitFor([&] { return a.Alive() == 3 && b.Alive() == 3 && c.Alive() == 3; }, 3000));
  auto t0 = std::chrono::steady_clock::now();
  c.Stop();
  EXPECT_TRUE(WaitFor([&] { return a.Alive() == 2 && b.Alive() == 2; }, 3000));
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(ms, 800 + 1000);
}

TEST(ClusterServiceTest, NonLoopbackWithoutTokenIsRefused) {
  EventLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  ClusterOptions options;
  options.host = "0.0.0.0";
  Status s = OnLoop(&loop, [&] {
    ClusterService service(&loop, NodeID::FromRandom(), "", options, nullptr);
    return service.Start();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("token"), std::string::npos);
  loop.Stop();
}

TEST(ClusterServiceTest, ParsesHostPort) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(ParseHostPort("127.0.0.1:6379", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 6379);
  EXPECT_FALSE(ParseHostPort("127.0.0.1", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:0", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:99999", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort(":1", &host, &port).ok());
}

}  // namespace
}  // namespace rayx
