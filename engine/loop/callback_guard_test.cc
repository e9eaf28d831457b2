#include "engine/loop/callback_guard.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

using std::chrono::milliseconds;

TEST(GuardCallbackTest, ReturnsTrueWhenTheCallbackReturns) {
  int runs = 0;
  EXPECT_TRUE(GuardCallback("test", [&] { ++runs; }));
  EXPECT_EQ(runs, 1);
}

TEST(GuardCallbackTest, CatchesAndLogsEveryKindOfException) {
  testing::internal::CaptureStderr();
  EXPECT_FALSE(
      GuardCallback("the runtime_error callback", [] { throw std::runtime_error("boom"); }));
  EXPECT_FALSE(GuardCallback("the bad_alloc callback", [] { throw std::bad_alloc(); }));
  EXPECT_FALSE(GuardCallback("the int callback", [] { throw 42; }));
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("exception in the runtime_error callback"), std::string::npos) << log;
  EXPECT_NE(log.find("boom"), std::string::npos) << log;
  EXPECT_NE(log.find("exception in the bad_alloc callback"), std::string::npos) << log;
  EXPECT_NE(log.find("exception in the int callback"), std::string::npos) << log;
  EXPECT_NE(log.find("not derived from std::exception"), std::string::npos) << log;
}

// Waits up to 10 s for f; true if it became ready.
template <typename T>
bool Ready(std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
}

// A blocking client socket with a receive timeout, talking frames to the listener.
class RawClient {
 public:
  explicit RawClient(const std::string& path) : fd_(socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, path.size());
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { close(fd_); }

  void Send(std::string_view payload) {
    std::string out;
    AppendFrame(&out, payload);
    ASSERT_EQ(write(fd_, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  }

  // The payload of the next frame (frames are small: one read each), or "EOF", or "ERROR".
  std::string Receive() {
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n == 0) return "EOF";
    if (n < 4) return "ERROR";
    return std::string(buf + 4, static_cast<size_t>(n) - 4);
  }

 private:
  int fd_;
};

// An echo server whose frame handler throws on "throw" (std::runtime_error) and "oom"
// (std::bad_alloc), and whose close handler throws once the frame said "throw on close".
class GuardedLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-guard-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/node.sock";
    ASSERT_TRUE(loop_.Start().ok());
  }

  void TearDown() override {
    RunOnLoop([&] {
      for (auto& conn : accepted_) conn->Close(Cancelled("test over"));
      accepted_.clear();
      listener_.reset();
      timer_.reset();
    });
    loop_.Stop();
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

  void ListenEcho() {
    RunOnLoop([&] {
      listener_ = std::make_unique<UnixListener>(&loop_);
      Status status = listener_->Listen(path_, [this](std::shared_ptr<Connection> conn) {
        if (throw_on_accept_.exchange(false)) throw std::runtime_error("accept handler fails");
        Connection* c = conn.get();
        auto throw_on_close = std::make_shared<bool>(false);
        c->Start(
            [c, throw_on_close](std::string_view frame) {
              if (frame == "throw") throw std::runtime_error("frame handler fails");
              if (frame == "oom") throw std::bad_alloc();
              if (frame == "throw on close") *throw_on_close = true;
              c->Send(frame);
            },
            [this, throw_on_close](const Status& why) {
              close_reasons_.push_back(why);
              if (*throw_on_close) throw std::runtime_error("close handler fails");
            });
        accepted_.push_back(std::move(conn));
      });
      ASSERT_TRUE(status.ok()) << status;
    });
  }

  // A new timer fires within the test's patience: the loop still runs timers.
  void ExpectTimerFires() {
    std::promise<void> fired;
    RunOnLoop([&] {
      timer_ = std::make_unique<Timer>(&loop_);
      timer_->Start(5, 0, [&] { fired.set_value(); });
    });
    auto f = fired.get_future();
    EXPECT_TRUE(Ready(f));
  }

  // The server's close reasons so far (read on the loop thread).
  std::vector<Status> CloseReasons() {
    std::vector<Status> reasons;
    RunOnLoop([&] { reasons = close_reasons_; });
    return reasons;
  }

  EventLoop loop_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<UnixListener> listener_;
  std::unique_ptr<Timer> timer_;
  std::atomic<bool> throw_on_accept_{false};
  std::vector<std::shared_ptr<Connection>> accepted_;  // Loop thread only.
  std::vector<Status> close_reasons_;                  // Loop thread only.
};

TEST_F(GuardedLoopTest, PostedFunctionThatThrowsIsSkippedAndTheRestRun) {
  std::promise<int> after;
  loop_.Post([] { throw std::runtime_error("posted function fails"); });
  loop_.Post([] { throw std::bad_alloc(); });
  loop_.Post([&] { after.set_value(7); });
  auto f = after.get_future();
  ASSERT_TRUE(Ready(f));
  EXPECT_EQ(f.get(), 7);
  ExpectTimerFires();
}

TEST_F(GuardedLoopTest, TimerThatThrowsKeepsRepeatingAndOthersFire) {
  std::atomic<int> fired{0};
  RunOnLoop([&] {
    timer_ = std::make_unique<Timer>(&loop_);
    timer_->Start(1, 1, [&] {
      if (++fired % 2 == 0) throw std::bad_alloc();
      throw std::runtime_error("timer fails");
    });
  });
  for (int i = 0; i < 1000 && fired.load() < 4; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_GE(fired.load(), 4);
  ExpectTimerFires();
}

TEST_F(GuardedLoopTest, FrameHandlerThatThrowsClosesOnlyItsConnection) {
  ListenEcho();
  RawClient survivor(path_);
  survivor.Send("hello");
  EXPECT_EQ(survivor.Receive(), "hello");

  RawClient thrower(path_);
  thrower.Send("throw");
  EXPECT_EQ(thrower.Receive(), "EOF");
  RawClient out_of_memory(path_);
  out_of_memory.Send("oom");
  EXPECT_EQ(out_of_memory.Receive(), "EOF");

  std::vector<Status> reasons = CloseReasons();
  ASSERT_EQ(reasons.size(), 2u);
  for (const Status& why : reasons) {
    EXPECT_EQ(why.code(), StatusCode::kInternal) << why;
    EXPECT_NE(why.ToString().find("read callback"), std::string::npos) << why;
  }
  // The loop goes on serving the others, old and new, and running timers.
  survivor.Send("still here");
  EXPECT_EQ(survivor.Receive(), "still here");
  RawClient newcomer(path_);
  newcomer.Send("new");
  EXPECT_EQ(newcomer.Receive(), "new");
  ExpectTimerFires();
}

TEST_F(GuardedLoopTest, CloseHandlerThatThrowsDoesNotStopTheLoop) {
  ListenEcho();
  RawClient survivor(path_);
  {
    RawClient leaver(path_);
    leaver.Send("throw on close");
    EXPECT_EQ(leaver.Receive(), "throw on close");
  }  // EOF: the server closes the connection, and its close handler throws.
  for (int i = 0; i < 1000 && CloseReasons().empty(); ++i)
    std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(CloseReasons().size(), 1u);
  EXPECT_EQ(CloseReasons()[0].code(), StatusCode::kUnavailable);
  survivor.Send("ping");
  EXPECT_EQ(survivor.Receive(), "ping");
  ExpectTimerFires();
}

TEST_F(GuardedLoopTest, AcceptHandlerThatThrowsClosesThatConnectionAndListenerGoesOn) {
  ListenEcho();
  throw_on_accept_ = true;
  RawClient refused(path_);
  EXPECT_EQ(refused.Receive(), "EOF");
  EXPECT_FALSE(throw_on_accept_.load());
  RawClient accepted(path_);
  accepted.Send("hi");
  EXPECT_EQ(accepted.Receive(), "hi");
  ExpectTimerFires();
}

}  // namespace
}  // namespace rayx
