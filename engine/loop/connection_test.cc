#include "engine/loop/connection.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/loop/event_loop.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

constexpr int kFrames = 10000;

// The payload of frame i: its size varies from empty to 256 KiB, its bytes depend on i.
std::string Payload(int i, char side) {
  size_t size = (static_cast<size_t>(i) * 7919) % 4096;
  if (i % 997 == 0) size = 256 * 1024;
  std::string s(size, '\0');
  for (size_t k = 0; k < size; ++k) s[k] = static_cast<char>(side + i + k * 31);
  if (size >= 4) s.replace(0, 4, reinterpret_cast<const char*>(&i), 4);
  return s;
}

// A blocking client socket, for talking to the listener without the loop.
int RawConnect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-conn-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/node.sock";
    ASSERT_TRUE(loop_.Start().ok());
  }

  void TearDown() override {
    // A test that stopped the loop itself has dropped the listener already.
    if (listener_ != nullptr) RunOnLoop([&] { listener_.reset(); });
    loop_.Stop();
    EXPECT_NE(access(path_.c_str(), F_OK), 0) << "the listener left its socket file";
    rmdir(dir_.c_str());
  }

  void RunOnLoop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Listens on path_; accepted connections are handed to on_accept on the loop thread.
  void Listen(UnixListener::AcceptHandler on_accept) {
    RunOnLoop([&] {
      listener_ = std::make_unique<UnixListener>(&loop_);
      ASSERT_TRUE(listener_->Listen(path_, std::move(on_accept)).ok());
    });
  }

  std::shared_ptr<Connection> Connect() {
    std::shared_ptr<Connection> conn;
    RunOnLoop([&] {
      auto result = Connection::ConnectUnix(&loop_, path_);
      ASSERT_TRUE(result.ok()) << result.status();
      conn = *result;
    });
    return conn;
  }

  EventLoop loop_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<UnixListener> listener_;
};

// Each side sends kFrames frames in batches and checks that the other side's arrive intact and in
// order.
TEST_F(ConnectionTest, ExchangesTenThousandFramesBothWaysInOrder) {
  struct Side {
    std::shared_ptr<Connection> conn;
    int received = 0;
    int mismatches = 0;
    bool closed = false;
    size_t max_pending = 0;
  };
  Side server, client;
  std::promise<void> server_done, client_done;

  auto start = [&](Side* side, char peer_tag, std::promise<void>* done) {
    side->conn->Start(
        [side, peer_tag, done](std::string_view frame) {
          if (frame != Payload(side->received, peer_tag)) ++side->mismatches;
          if (++side->received == kFrames) done->set_value();
        },
        [side](const Status&) { side->closed = true; });
  };
  auto send_all = [&](Side* side, char tag) {
    // Batches of 100 frames, one posted function each, so that flushes interleave with reads.
    for (int first = 0; first < kFrames; first += 100) {
      loop_.Post([side, tag, first] {
        for (int i = first; i < first + 100; ++i) ASSERT_TRUE(side->conn->Send(Payload(i, tag)));
        side->max_pending = std::max(side->max_pending, side->conn->pending_write_bytes());
      });
    }
  };

  Listen([&](std::shared_ptr<Connection> conn) {
    server.conn = std::move(conn);
    start(&server, 'c', &server_done);
    send_all(&server, 's');
  });
  client.conn = Connect();
  RunOnLoop([&] { start(&client, 's', &client_done); });
  send_all(&client, 'c');

  ASSERT_EQ(server_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  ASSERT_EQ(client_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  RunOnLoop([&] {
    EXPECT_EQ(server.mismatches, 0);
    EXPECT_EQ(client.mismatches, 0);
    EXPECT_GT(client.max_pending, 0u);
    EXPECT_EQ(client.conn->pending_write_bytes(), 0u);
    EXPECT_FALSE(server.closed || client.closed);
    // Closing both here runs their close handlers while the sides still exist.
    client.conn->Close(Cancelled("test over"));
    server.conn->Close(Cancelled("test over"));
    server.conn.reset();
    client.conn.reset();
  });
}

TEST_F(ConnectionTest, PeerEofCallsCloseHandlerOnce) {
  std::atomic<int> server_closes{0};
  std::promise<Status> server_reason;
  std::shared_ptr<Connection> accepted;
  Listen([&](std::shared_ptr<Connection> conn) {
    accepted = conn;
    conn->Start([](std::string_view) {},
                [&](const Status& why) {
                  if (++server_closes == 1) server_reason.set_value(why);
                });
  });
  std::shared_ptr<Connection> client = Connect();
  int client_closes = 0;
  Status client_reason;
  RunOnLoop([&] {
    client->Start([](std::string_view) {},
                  [&](const Status& why) {
                    ++client_closes;
                    client_reason = why;
                  });
    client->Close(Cancelled("done"));
    client->Close(Internal("a second close is ignored"));
    EXPECT_TRUE(client->closed());
    EXPECT_FALSE(client->Send("late"));
  });
  auto reason = server_reason.get_future();
  ASSERT_EQ(reason.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(reason.get().code(), StatusCode::kUnavailable);
  RunOnLoop([&] {
    EXPECT_EQ(client_closes, 1);
    EXPECT_EQ(client_reason.code(), StatusCode::kCancelled);
    EXPECT_FALSE(accepted->Send("to a closed peer"));
    accepted.reset();
  });
  EXPECT_EQ(server_closes.load(), 1);
}

TEST_F(ConnectionTest, SendAfterCloseReturnsFalse) {
  Listen([](std::shared_ptr<Connection> conn) { conn->Start([](std::string_view) {}, nullptr); });
  std::shared_ptr<Connection> client = Connect();
  RunOnLoop([&] {
    EXPECT_TRUE(client->Send("before"));
    EXPECT_GT(client->pending_write_bytes(), 0u);
    client->Close(Cancelled("closing"));
    EXPECT_FALSE(client->Send("after"));
    EXPECT_EQ(client->pending_write_bytes(), 0u);
    client.reset();  // The loop still holds it until the close callbacks.
  });
}

TEST_F(ConnectionTest, GarbageLengthClosesOnlyThatConnection) {
  std::vector<std::shared_ptr<Connection>> accepted;
  std::promise<Status> bad_reason;
  int server_closes = 0;
  Listen([&](std::shared_ptr<Connection> conn) {
    Connection* raw = conn.get();
    accepted.push_back(conn);
    // Echo server; the first connection to close reports why.
    conn->Start([raw](std::string_view frame) { raw->Send(frame); },
                [&](const Status& why) {
                  if (server_closes++ == 0) bad_reason.set_value(why);
                });
  });

  std::shared_ptr<Connection> good = Connect();
  std::vector<std::string> echoes;
  std::promise<void> echoed_twice;
  RunOnLoop([&] {
    good->Start(
        [&](std::string_view frame) {
          echoes.emplace_back(frame);
          if (echoes.size() == 2) echoed_twice.set_value();
        },
        nullptr);
    good->Send("one");
  });

  int bad = RawConnect(path_);
  ASSERT_GE(bad, 0);
  const char garbage[] = "\xff\xff\xff\xffjunk";
  ASSERT_EQ(write(bad, garbage, sizeof(garbage) - 1), static_cast<ssize_t>(sizeof(garbage) - 1));
  auto reason = bad_reason.get_future();
  ASSERT_EQ(reason.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(reason.get().code(), StatusCode::kProtocolError);
  char byte;
  EXPECT_EQ(read(bad, &byte, 1), 0) << "the bad connection should see EOF";
  close(bad);

  RunOnLoop([&] { good->Send("two"); });
  ASSERT_EQ(echoed_twice.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  RunOnLoop([&] {
    EXPECT_EQ(echoes, (std::vector<std::string>{"one", "two"}));
    EXPECT_FALSE(good->closed());
    EXPECT_EQ(server_closes, 1);
    good->Close(Cancelled("test over"));
    for (auto& conn : accepted) conn->Close(Cancelled("test over"));
    good.reset();
    accepted.clear();
  });
}

TEST_F(ConnectionTest, OwnerMayDropAConnectionWithWritesQueued) {
  std::promise<int> got;
  std::shared_ptr<Connection> accepted;
  int count = 0;
  Listen([&](std::shared_ptr<Connection> conn) {
    accepted = conn;
    conn->Start(
        [&](std::string_view) {
          if (++count == 1000) got.set_value(count);
        },
        nullptr);
  });
  RunOnLoop([&] {
    auto result = Connection::ConnectUnix(&loop_, path_);
    ASSERT_TRUE(result.ok());
    for (int i = 0; i < 1000; ++i) (*result)->Send(Payload(i, 'x'));
    // The only reference goes away here; the queued frames still go out.
  });
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  RunOnLoop([&] { accepted.reset(); });
}

TEST_F(ConnectionTest, StopClosesOpenConnectionsWithCancelled) {
  Listen([](std::shared_ptr<Connection> conn) { conn->Start([](std::string_view) {}, nullptr); });
  std::shared_ptr<Connection> client = Connect();
  Status reason;
  int closes = 0;
  RunOnLoop([&] {
    client->Start([](std::string_view) {},
                  [&](const Status& why) {
                    ++closes;
                    reason = why;
                  });
  });
  loop_.Stop();
  EXPECT_EQ(closes, 1);
  EXPECT_EQ(reason.code(), StatusCode::kCancelled);
  EXPECT_TRUE(client->closed());
  EXPECT_FALSE(client->Send("after stop"));
  client.reset();
  listener_.reset();  // Removes the socket file; the loop closed its handle already.
}

// AfterWritten runs at once when the frames queued so far fit in the socket (the peer can read
// them the moment it returns), later when the peer must read first, and never after a close.
TEST_F(ConnectionTest, AfterWrittenRunsOnceQueuedFramesAreInTheKernel) {
  std::promise<std::shared_ptr<Connection>> accepted_promise;
  Listen([&](std::shared_ptr<Connection> conn) {
    conn->Start([](std::string_view) {}, nullptr);
    accepted_promise.set_value(conn);
  });
  int fd = RawConnect(path_);
  ASSERT_GE(fd, 0);
  std::shared_ptr<Connection> server = accepted_promise.get_future().get();

  bool ran_inside = false;
  RunOnLoop([&] {
    server->Send("cancel task 7");
    server->AfterWritten([&] { ran_inside = true; });
  });
  EXPECT_TRUE(ran_inside);
  char small[64];
  ssize_t n = recv(fd, small, sizeof(small), MSG_DONTWAIT);  // Already there: no waiting.
  EXPECT_EQ(n, static_cast<ssize_t>(kFrameHeaderSize + 13));

  // More than the socket holds: the callback waits until the peer has read enough.
  std::atomic<int> ran{0};
  const std::string big(1 << 20, 'b');
  RunOnLoop([&] {
    for (int i = 0; i < 16; ++i) server->Send(big);
    server->AfterWritten([&] { ran++; });
  });
  RunOnLoop([] {});
  EXPECT_EQ(ran.load(), 0);
  std::vector<char> sink(1 << 20);
  size_t total = 0;
  const size_t expected = 16 * (kFrameHeaderSize + big.size());
  while (total < expected) {
    ssize_t got = read(fd, sink.data(), sink.size());
    ASSERT_GT(got, 0);
    total += static_cast<size_t>(got);
  }
  for (int i = 0; i < 200 && ran.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ran.load(), 1);

  // Closed before its frames went out: the callback never runs.
  bool ran_after_close = false;
  RunOnLoop([&] {
    for (int i = 0; i < 16; ++i) server->Send(big);
    server->AfterWritten([&] { ran_after_close = true; });
    server->Close(Cancelled("test over"));
  });
  RunOnLoop([] {});
  EXPECT_FALSE(ran_after_close);
  close(fd);
  RunOnLoop([&] { server.reset(); });
}

TEST_F(ConnectionTest, ListenReplacesAStaleSocketButNotALiveOne) {
  // A socket file whose process is gone: bound, then closed without unlinking.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path_.copy(addr.sun_path, path_.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  Listen([](std::shared_ptr<Connection>) {});
  RunOnLoop([&] {
    UnixListener second(&loop_);
    Status status = second.Listen(path_, [](std::shared_ptr<Connection>) {});
    EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status;
  });
  EXPECT_EQ(access(path_.c_str(), F_OK), 0) << "a failed Listen removed a live socket";
}

TEST_F(ConnectionTest, ConnectToMissingPathFails) {
  RunOnLoop([&] {
    auto result = Connection::ConnectUnix(&loop_, dir_ + "/nobody.sock");
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kIoError);
  });
}

}  // namespace
}  // namespace rayx
