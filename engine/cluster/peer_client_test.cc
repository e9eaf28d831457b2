// A PeerClient against a ClusterService's listener, on one loop: the client protocol after the
// peer authentication, frames sent early kept in order, a wrong token refused with the reason, and
// a frame that fails verification closing the link.
#include "engine/cluster/peer_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

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

std::string InfoRequest(uint64_t id) {
  flatbuffers::FlatBufferBuilder b(64);
  return std::string(FinishEnvelope(b, wire::CreateInfoRequest(b, id)));
}

// What the listening side saw of one client connection.
struct Served {
  std::vector<wire::Message> types;
  std::vector<uint64_t> info_ids;
  wire::Role role = wire::Role::Driver;
  std::shared_ptr<Connection> conn;
};

class PeerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Start().ok());
    ClusterOptions options;
    options.token = "peer-client-test";
    options.auth_timeout_ms = 1000;
    service_ = std::make_unique<ClusterService>(&loop_, NodeID::FromRandom(), "/nowhere", options,
                                                [](MemberState*) {});
    ASSERT_TRUE(OnLoop(&loop_, [this] { return service_->Start(); }).ok());
    address_ = OnLoop(&loop_, [this] { return service_->address(); });
    OnLoop(&loop_, [this] {
      service_->SetClientHandler([this](std::shared_ptr<Connection> conn, peer::LinkPurpose) {
        served_.conn = conn;
        conn->Rebind(
            [this](std::string_view frame) {
              auto envelope = ParseEnvelope(frame);
              ASSERT_TRUE(envelope.ok());
              served_.types.push_back((*envelope)->message_type());
              if ((*envelope)->message_type() == wire::Message::Hello) {
                served_.role = (*envelope)->message_as_Hello()->role();
              } else if ((*envelope)->message_type() == wire::Message::InfoRequest) {
                served_.info_ids.push_back((*envelope)->message_as_InfoRequest()->request_id());
              }
            },
            [](const Status&) {});
      });
      return 0;
    });
  }
  void TearDown() override {
    OnLoop(&loop_, [this] {
      if (client_) client_->Close(Cancelled("test over"));
      if (served_.conn) served_.conn->Close(Cancelled("test over"));
      service_->Close();
      service_.reset();
      return 0;
    });
    loop_.Stop();
  }

  // Waits (up to 5 s) for cond, checked on the loop.
  template <typename F>
  bool Eventually(F cond) {
    for (int i = 0; i < 500; ++i) {
      if (OnLoop(&loop_, cond)) return true;
      usleep(10000);
    }
    return false;
  }

  void Connect(const std::string& token) {
    OnLoop(&loop_, [this, token] {
      client_ = PeerClient::Connect(
          &loop_, address_, NodeID::FromRandom(), token, 1000,
          [this](const wire::Envelope& e, std::string_view) {
            received_.push_back(e.message_type());
            return Status::OK();
          },
          [this](const Status& why) {
            closed_ = true;
            close_reason_ = why;
          });
      // Sent before the link is authenticated: they wait, then follow the Hello in order.
      client_->Send(InfoRequest(1));
      client_->Send(InfoRequest(2));
      return 0;
    });
  }

  EventLoop loop_;
  std::unique_ptr<ClusterService> service_;
  std::string address_;
  Served served_;
  std::shared_ptr<PeerClient> client_;
  std::vector<wire::Message> received_;
  bool closed_ = false;
  Status close_reason_;
};

TEST_F(PeerClientTest, SpeaksTheClientProtocolAfterAuthentication) {
  Connect("peer-client-test");
  ASSERT_TRUE(Eventually([this] { return served_.types.size() == 3; }));
  OnLoop(&loop_, [this] {
    EXPECT_EQ(served_.types[0], wire::Message::Hello);
    EXPECT_EQ(served_.role, wire::Role::Node);
    EXPECT_EQ(served_.info_ids, (std::vector<uint64_t>{1, 2}));
    // The other way: a frame from the served side reaches the client's handler.
    flatbuffers::FlatBufferBuilder b(64);
    served_.conn->Send(FinishEnvelope(b, wire::CreateInfoReply(b, 7)));
    return 0;
  });
  ASSERT_TRUE(Eventually([this] { return received_.size() == 1; }));
  EXPECT_FALSE(OnLoop(&loop_, [this] { return closed_; }));
}

TEST_F(PeerClientTest, AWrongTokenIsRefusedAndNothingIsServed) {
  Connect("not-the-token");
  ASSERT_TRUE(Eventually([this] { return closed_; }));
  OnLoop(&loop_, [this] {
    EXPECT_NE(close_reason_.message().find("token"), std::string::npos) << close_reason_;
    EXPECT_EQ(served_.conn, nullptr);
    return 0;
  });
}

TEST_F(PeerClientTest, AFrameThatFailsVerificationClosesTheLink) {
  Connect("peer-client-test");
  ASSERT_TRUE(Eventually([this] { return served_.types.size() == 3; }));
  OnLoop(&loop_, [this] {
    served_.conn->Send("this is not a flatbuffer at all, just bytes");
    return 0;
  });
  ASSERT_TRUE(Eventually([this] { return closed_; }));
  EXPECT_TRUE(received_.empty());
  EXPECT_EQ(close_reason_.code(), StatusCode::kProtocolError) << close_reason_;
}

TEST_F(PeerClientTest, AnUnreachableMemberClosesFromTheLoop) {
  OnLoop(&loop_, [this] {
    client_ = PeerClient::Connect(
        &loop_, "127.0.0.1:1", NodeID::FromRandom(), "peer-client-test", 1000,
        [](const wire::Envelope&, std::string_view) { return Status::OK(); },
        [this](const Status& why) {
          closed_ = true;
          close_reason_ = why;
        });
    EXPECT_FALSE(closed_);  // Never from inside Connect.
    return 0;
  });
  ASSERT_TRUE(Eventually([this] { return closed_; }));
}

}  // namespace
}  // namespace rayx
