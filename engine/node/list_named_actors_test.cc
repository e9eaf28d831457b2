// A node answering ListNamedActors (node_service_names.cc): a driver's request on a node of a
// cluster with no other member is answered at once with the request's id, a member's request
// (Role Node) likewise from this node alone, and a client that sends a NamedActorList, an answer
// only a node gives, is disconnected.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "engine/client/client_runtime.h"
#include "engine/cluster/auth.h"
#include "engine/cluster/blocking_dial.h"
#include "engine/node/node.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

constexpr char kToken[] = "list-named-actors-test";

// Reads whole frames from a socket by hand: the next one, or nullopt once the socket closed or
// nothing came in 5 s.
std::optional<std::string> NextFrame(int fd, FrameDecoder* decoder, std::deque<std::string>* got) {
  while (got->empty()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return std::nullopt;
    Status fed = decoder->Feed(buf, static_cast<size_t>(n),
                               [got](std::string_view f) { got->emplace_back(f); });
    if (!fed.ok()) return std::nullopt;
  }
  std::string frame = std::move(got->front());
  got->pop_front();
  return frame;
}

class ListNamedActorsTest : public ::testing::Test {
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
    if (fd_ >= 0) close(fd_);
  }

  // Dials the node over TCP and says Hello as role; true once welcomed.
  bool Greet(peer::LinkPurpose purpose, wire::Role role) {
    StatusOr<int> fd = DialAuthenticated(node_->cluster_address(), kToken, purpose);
    if (!fd.ok()) return false;
    fd_ = *fd;
    flatbuffers::FlatBufferBuilder b(128);
    NodeID self = NodeID::FromRandom();
    auto node_id = b.CreateVector(self.data(), NodeID::kSize);
    Send(FinishEnvelope(
        b, wire::CreateHello(b, kProtocolVersion, role, 0, static_cast<int>(getpid()), node_id)));
    std::optional<std::string> welcome = Next();
    return welcome.has_value() && (*ParseEnvelope(*welcome))->message_as_Welcome() != nullptr;
  }
  void Send(std::string_view envelope) {
    std::string frame;
    AppendFrame(&frame, envelope);
    ASSERT_EQ(write(fd_, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }
  std::optional<std::string> Next() { return NextFrame(fd_, &decoder_, &frames_); }

  std::unique_ptr<Node> node_;
  int fd_ = -1;
  FrameDecoder decoder_;
  std::deque<std::string> frames_;
};

TEST_F(ListNamedActorsTest, ADriverIsAnsweredAtOnceWithoutOtherMembers) {
  auto driver = ClientRuntime::Connect(node_->socket_path(), ClientRole::kDriver, WorkerID());
  ASSERT_TRUE(driver.ok()) << driver.status();
  for (bool all_namespaces : {false, true}) {
    auto listed = (*driver)->ListNamedActors("ns", all_namespaces);
    ASSERT_TRUE(listed.ok()) << listed.status();
    EXPECT_TRUE(listed->empty());
  }
}

TEST_F(ListNamedActorsTest, AMemberIsAnsweredFromThisNodeAlone) {
  ASSERT_TRUE(Greet(peer::LinkPurpose::Client, wire::Role::Node));
  flatbuffers::FlatBufferBuilder b(64);
  Send(FinishEnvelope(b, wire::CreateListNamedActors(b, 5, 0, true)));  // No namespace: "".
  std::optional<std::string> reply = Next();
  ASSERT_TRUE(reply.has_value()) << "no answer";
  auto envelope = ParseEnvelope(*reply);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  const wire::NamedActorList* list = (*envelope)->message_as_NamedActorList();
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->request_id(), 5u);
  EXPECT_TRUE(list->actors() == nullptr || list->actors()->size() == 0);
  EXPECT_TRUE(list->error() == nullptr || list->error()->size() == 0);
}

TEST_F(ListNamedActorsTest, AClientSendingANamedActorListIsDisconnected) {
  ASSERT_TRUE(Greet(peer::LinkPurpose::Driver, wire::Role::Driver));
  flatbuffers::FlatBufferBuilder b(64);
  Send(FinishEnvelope(b, wire::CreateNamedActorList(b, 1)));
  EXPECT_FALSE(Next().has_value());
}

}  // namespace
}  // namespace rayx
