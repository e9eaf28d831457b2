// DialAuthenticated against a ClusterService's listener: a driver's link authenticates with
// purpose Driver, reaches the client handler with that purpose and then carries client frames; a
// wrong token is refused with a message that names the token.
#include "engine/cluster/blocking_dial.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "engine/cluster/auth.h"
#include "engine/cluster/cluster_service.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

template <typename F>
auto OnLoop(EventLoop* loop, F fn) -> decltype(fn()) {
  std::promise<decltype(fn())> done;
  loop->Post([&] { done.set_value(fn()); });
  return done.get_future().get();
}

class BlockingDialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Start().ok());
    ClusterOptions options;
    options.token = "blocking-dial-test";
    service_ = std::make_unique<ClusterService>(&loop_, NodeID::FromRandom(), "/nowhere", options,
                                                [](MemberState*) {});
    ASSERT_TRUE(OnLoop(&loop_, [this] { return service_->Start(); }).ok());
    address_ = OnLoop(&loop_, [this] { return service_->address(); });
    OnLoop(&loop_, [this] {
      service_->SetClientHandler(
          [this](std::shared_ptr<Connection> conn, peer::LinkPurpose purpose) {
            purposes_.push_back(purpose);
            conn_ = conn;
            conn->Rebind(
                [this](std::string_view frame) {
                  auto envelope = ParseEnvelope(frame);
                  if (envelope.ok()) types_.push_back((*envelope)->message_type());
                },
                [](const Status&) {});
          });
      return 0;
    });
  }
  void TearDown() override {
    OnLoop(&loop_, [this] {
      if (conn_) conn_->Close(Cancelled("test over"));
      service_->Close();
      service_.reset();
      return 0;
    });
    loop_.Stop();
  }

  EventLoop loop_;
  std::unique_ptr<ClusterService> service_;
  std::string address_;
  std::vector<peer::LinkPurpose> purposes_;  // Touched on the loop only.
  std::vector<wire::Message> types_;         // Touched on the loop only.
  std::shared_ptr<Connection> conn_;
};

TEST_F(BlockingDialTest, ADriverLinkCarriesClientFramesAfterTheAuthentication) {
  StatusOr<int> fd = DialAuthenticated(address_, "blocking-dial-test", peer::LinkPurpose::Driver);
  ASSERT_TRUE(fd.ok()) << fd.status();
  flatbuffers::FlatBufferBuilder b(64);
  std::string frame;
  AppendFrame(&frame, FinishEnvelope(b, wire::CreateHello(b, kProtocolVersion, wire::Role::Driver,
                                                          0, static_cast<int>(getpid()))));
  ASSERT_EQ(write(*fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  bool seen = false;
  for (int i = 0; i < 500 && !seen; ++i) {
    seen = OnLoop(&loop_, [this] { return !types_.empty(); });
    if (!seen) usleep(10000);
  }
  ASSERT_TRUE(seen);
  OnLoop(&loop_, [this] {
    EXPECT_EQ(purposes_, std::vector<peer::LinkPurpose>{peer::LinkPurpose::Driver});
    EXPECT_EQ(types_, std::vector<wire::Message>{wire::Message::Hello});
    return 0;
  });
  close(*fd);
}

TEST_F(BlockingDialTest, AWrongTokenIsRefusedAndNamesTheToken) {
  StatusOr<int> fd = DialAuthenticated(address_, "wrong", peer::LinkPurpose::Driver);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.status().message().find("token"), std::string::npos) << fd.status();
  EXPECT_TRUE(OnLoop(&loop_, [this] { return purposes_.empty(); }));
}

}  // namespace
}  // namespace rayx
