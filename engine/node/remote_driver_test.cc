// A node with a cluster listener and the drivers that attach to it over TCP (ClientOrigin::
// kRemoteDriver): a shared-memory value put by a local driver reaches a remote one inline, one
// over 64 MiB comes as an OBJECT_TOO_LARGE error, a remote put over 64 MiB is refused before it
// is sent, no worker is leased to a remote driver, and a TCP client that says Hello as a worker or
// a node, or sends a shared-memory value, is disconnected.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/client_runtime.h"
#include "engine/cluster/auth.h"
#include "engine/cluster/blocking_dial.h"
#include "engine/node/node.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

constexpr char kToken[] = "remote-driver-test";

// A client link read by hand: frames as they come, nullopt once closed, "" when nothing came in
// 5 s (no frame of the node's is empty).
class RawLink {
 public:
  explicit RawLink(int fd) : fd_(fd) {}
  ~RawLink() { close(fd_); }
  void Send(std::string_view envelope) {
    std::string frame;
    AppendFrame(&frame, envelope);
    ASSERT_EQ(write(fd_, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }
  std::optional<std::string> Next() {
    while (frames_.empty()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return std::string();
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      if (!decoder_
               .Feed(buf, static_cast<size_t>(n),
                     [this](std::string_view f) { frames_.emplace_back(f); })
               .ok()) {
        return std::nullopt;
      }
    }
    std::string f = std::move(frames_.front());
    frames_.pop_front();
    return f;
  }

 private:
  int fd_;
  FrameDecoder decoder_;
  std::deque<std::string> frames_;
};

std::string Hello(wire::Role role) {
  flatbuffers::FlatBufferBuilder b(128);
  WorkerID id = WorkerID::FromRandom();
  auto worker_id = b.CreateVector(id.data(), WorkerID::kSize);
  return std::string(FinishEnvelope(
      b, wire::CreateHello(b, kProtocolVersion, role, worker_id, static_cast<int>(getpid()))));
}

class RemoteDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RAYX_HOME", ::testing::TempDir().c_str(), 1);
    setenv("RAYX_CLUSTER_TOKEN", kToken, 1);
    setenv("RAYX_LINEAGE", "0", 1);
    NodeOptions options;
    options.num_cpus = 1;
    options.cluster.emplace();
    options.cluster->token = kToken;
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(node).value();
  }
  void TearDown() override {
    if (node_) node_->Stop();
  }

  std::unique_ptr<RawLink> Dial(peer::LinkPurpose purpose) {
    StatusOr<int> fd = DialAuthenticated(node_->cluster_address(), kToken, purpose);
    EXPECT_TRUE(fd.ok()) << fd.status();
    return fd.ok() ? std::make_unique<RawLink>(*fd) : nullptr;
  }

  std::unique_ptr<Node> node_;
};

OutgoingValue Bytes(const std::string& data) {
  OutgoingValue value;
  value.data = ByteSpan{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  return value;
}

TEST_F(RemoteDriverTest, SharedMemoryValuesReachARemoteDriverInline) {
  auto local = ClientRuntime::Connect(node_->socket_path(), ClientRole::kDriver, WorkerID());
  ASSERT_TRUE(local.ok()) << local.status();
  auto remote = ClientRuntime::Connect(std::string(kTcpScheme) + node_->cluster_address(),
                                       ClientRole::kDriver, WorkerID());
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ((*remote)->welcome().node_id, node_->node_id());
  EXPECT_EQ((*remote)->welcome().session_dir, "");

  std::string small(1 << 20, 's'), large((65u << 20), 'l');
  auto small_id = (*local)->Put(Bytes(small));
  auto large_id = (*local)->Put(Bytes(large));
  ASSERT_TRUE(small_id.ok() && large_id.ok());
  bool timed_out = false;
  auto values = (*remote)->Get({*small_id, *large_id}, 10000, &timed_out);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 2u);
  const IncomingValue& got = (*values)[0];
  EXPECT_EQ(got.mapping, nullptr);
  EXPECT_EQ(got.kind, ValueKind::kValue);
  EXPECT_NE(got.inline_data.find(small), std::string::npos);  // The bytes, after the header.
  EXPECT_EQ((*values)[1].kind, ValueKind::kSystemError);
  EXPECT_EQ((*values)[1].inline_data.rfind("OBJECT_TOO_LARGE: ", 0), 0u);
  EXPECT_NE((*values)[1].inline_data.find("no such limit"), std::string::npos);

  // The remote driver's own values: inline, and refused over the limit before they are sent.
  auto put = (*remote)->Put(Bytes(small));
  ASSERT_TRUE(put.ok()) << put.status();
  // A put goes without a reply: a get on the same connection orders it before the other driver's.
  auto own = (*remote)->Get({*put}, 10000, &timed_out);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ((*own)[0].inline_data, (*values)[0].inline_data);
  auto back = (*local)->Get({*put}, 10000, &timed_out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_NE((*back)[0].inline_data.find(small), std::string::npos);
  auto too_large = (*remote)->Put(Bytes(large));
  EXPECT_EQ(too_large.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_large.status().message().find("67108864"), std::string::npos);
  EXPECT_FALSE((*remote)->disconnected());
}

TEST_F(RemoteDriverTest, ARemoteDriverIsLeasedNoWorker) {
  auto link = Dial(peer::LinkPurpose::Driver);
  ASSERT_NE(link, nullptr);
  link->Send(Hello(wire::Role::Driver));
  auto welcome = link->Next();
  ASSERT_TRUE(welcome.has_value());
  ASSERT_NE((*ParseEnvelope(*welcome))->message_as_Welcome(), nullptr);
  flatbuffers::FlatBufferBuilder b(64);
  link->Send(FinishEnvelope(b, wire::CreateRequestLease(b, 7)));
  // Refused at once: a lease in the making would try to start a worker (this node has no binary
  // for them) and answer nothing.
  auto reply = link->Next();
  ASSERT_TRUE(reply.has_value() && !reply->empty()) << "no answer to the lease request";
  auto envelope = ParseEnvelope(*reply);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  const wire::LeaseGranted* granted = (*envelope)->message_as_LeaseGranted();
  ASSERT_NE(granted, nullptr);
  EXPECT_EQ(granted->lease_key(), 7u);
  EXPECT_TRUE(granted->worker_id() == nullptr || granted->worker_id()->size() == 0);
}

TEST_F(RemoteDriverTest, ATcpClientMustSayTheRoleItsLinkIsFor) {
  for (auto [purpose, role] : {std::pair{peer::LinkPurpose::Driver, wire::Role::Worker},
                               std::pair{peer::LinkPurpose::Driver, wire::Role::Node},
                               std::pair{peer::LinkPurpose::Client, wire::Role::Driver}}) {
    auto link = Dial(purpose);
    ASSERT_NE(link, nullptr);
    link->Send(Hello(role));
    EXPECT_FALSE(link->Next().has_value()) << "served role " << static_cast<int>(role);
  }
}

TEST_F(RemoteDriverTest, ARemoteDriverCannotSendSharedMemoryValues) {
  auto link = Dial(peer::LinkPurpose::Driver);
  ASSERT_NE(link, nullptr);
  link->Send(Hello(wire::Role::Driver));
  ASSERT_TRUE(link->Next().has_value());  // Welcome.
  flatbuffers::FlatBufferBuilder b(128);
  ObjectID id = ObjectID::ForReturn(TaskID::FromRandom(), 0);
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  wire::ObjectValueBuilder v(b);
  v.add_object_id(object_id);
  v.add_in_shm(true);
  v.add_shm_size(1 << 20);
  auto value = v.Finish();
  link->Send(FinishEnvelope(b, wire::CreatePutObject(b, value, /*request_id=*/1)));
  EXPECT_FALSE(link->Next().has_value());
}

}  // namespace
}  // namespace rayx
