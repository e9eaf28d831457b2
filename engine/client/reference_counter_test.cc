#include "engine/client/reference_counter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/fake_node.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

constexpr int kWaitMs = 5000;

// A frame the node reads as "whatever came before this was all": sent through the channel, so it
// carries what waits in front of it.
std::string Marker() {
  flatbuffers::FlatBufferBuilder b(64);
  return std::string(FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString("marker"))));
}

// The lists of a RefCountUpdate, as ids.
struct Update {
  std::vector<ObjectID> added, removed;
  std::vector<ActorID> actors_added, actors_removed;
};

std::optional<Update> AsUpdate(const std::optional<std::string>& frame) {
  if (MessageType(frame) != wire::Message::RefCountUpdate) return std::nullopt;
  const wire::RefCountUpdate* u = (*ParseEnvelope(*frame))->message_as_RefCountUpdate();
  Update update;
  update.added = UnpackIds<ObjectID>(u->added()).value();
  update.removed = UnpackIds<ObjectID>(u->removed()).value();
  update.actors_added = UnpackIds<ActorID>(u->actors_added()).value();
  update.actors_removed = UnpackIds<ActorID>(u->actors_removed()).value();
  return update;
}

class ReferenceCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(conn.ok()) << conn.status();
    channel_ = std::make_unique<NodeChannel>(std::move(*conn));
    refs_ = std::make_unique<ReferenceCounter>(channel_.get());
    client_ = node_.WaitForClient(0);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    if (channel_ != nullptr) channel_->Stop();  // Before the counter, its pending source, goes.
  }

  std::optional<Update> NextUpdate() { return AsUpdate(FakeNode::ReadFrame(client_, kWaitMs)); }
  // Sends a marker and expects it to be the next thing the node reads: nothing else was sent, and
  // nothing waited to go with it.
  void ExpectNothingSent() {
    ASSERT_TRUE(channel_->Send(Marker()).ok());
    EXPECT_EQ(MessageType(FakeNode::ReadFrame(client_, kWaitMs)), wire::Message::TaskStarted);
  }

  FakeNode node_;
  std::unique_ptr<NodeChannel> channel_;
  std::unique_ptr<ReferenceCounter> refs_;
  FakeNode::Client* client_ = nullptr;
  ObjectID id_ = ObjectID::FromRandom();
};

TEST_F(ReferenceCounterTest, FirstAddRefSendsOneAddAndTheSecondNothing) {
  EXPECT_FALSE(refs_->IsHeld(id_));
  refs_->AddRef(id_);
  auto update = NextUpdate();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->added, std::vector<ObjectID>{id_});
  EXPECT_TRUE(update->removed.empty());
  EXPECT_TRUE(refs_->IsHeld(id_));
  refs_->AddRef(id_);
  ExpectNothingSent();
}

TEST_F(ReferenceCounterTest, RemovalWaitsForTheNextFrame) {
  refs_->AddRef(id_);
  ASSERT_TRUE(NextUpdate().has_value());
  refs_->AddRef(id_);
  refs_->RemoveRef(id_);
  EXPECT_TRUE(refs_->IsHeld(id_));
  refs_->RemoveRef(id_);
  EXPECT_FALSE(refs_->IsHeld(id_));
  // Nothing at once (the flusher does not run here).
  EXPECT_FALSE(FakeNode::ReadFrame(client_, 100).has_value());
  ObjectID other = ObjectID::FromRandom();
  refs_->AddRef(other);  // Sent at once, under the order lock, without what waits.
  auto add = NextUpdate();
  ASSERT_TRUE(add.has_value());
  EXPECT_EQ(add->added, std::vector<ObjectID>{other});
  EXPECT_TRUE(add->removed.empty());
  refs_->RemoveRef(other);
  ASSERT_TRUE(channel_->Send(Marker()).ok());
  auto batch = NextUpdate();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->removed, (std::vector<ObjectID>{id_, other}));  // One batch, in order.
  EXPECT_TRUE(batch->added.empty());
  EXPECT_EQ(MessageType(FakeNode::ReadFrame(client_, kWaitMs)), wire::Message::TaskStarted);
  ExpectNothingSent();  // Sent once.
}

TEST_F(ReferenceCounterTest, RemovalGoesWithinTheFlushDelayWhenNothingIsSent) {
  channel_->Start();
  refs_->AddRef(id_);
  ASSERT_TRUE(NextUpdate().has_value());
  auto start = std::chrono::steady_clock::now();
  refs_->RemoveRef(id_);
  auto batch = NextUpdate();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->removed, std::vector<ObjectID>{id_});
}

TEST_F(ReferenceCounterTest, AddRefCancelsAWaitingRemoval) {
  refs_->AddRef(id_);
  ASSERT_TRUE(NextUpdate().has_value());
  refs_->RemoveRef(id_);
  refs_->AddRef(id_);  // The node still counts this process: it hears of neither.
  EXPECT_TRUE(refs_->IsHeld(id_));
  ExpectNothingSent();
  // The flusher, too, finds nothing to send.
  channel_->Start();
  EXPECT_FALSE(FakeNode::ReadFrame(client_, 100).has_value());
  // The hold is a real one: its last removal goes out.
  refs_->RemoveRef(id_);
  auto batch = NextUpdate();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->removed, std::vector<ObjectID>{id_});
}

TEST_F(ReferenceCounterTest, AnnouncedIdsFirstAddRefSendsNothing) {
  refs_->Announce(id_);
  EXPECT_TRUE(refs_->IsHeld(id_));
  refs_->AddRef(id_);
  ExpectNothingSent();
  refs_->RemoveRef(id_);
  EXPECT_FALSE(refs_->IsHeld(id_));
  // Taken over once: a later AddRef is a new hold the node must hear of.
  ASSERT_TRUE(channel_->Send(Marker()).ok());
  auto batch = NextUpdate();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->removed, std::vector<ObjectID>{id_});
  ASSERT_EQ(MessageType(FakeNode::ReadFrame(client_, kWaitMs)), wire::Message::TaskStarted);
  refs_->AddRef(id_);
  auto add = NextUpdate();
  ASSERT_TRUE(add.has_value());
  EXPECT_EQ(add->added, std::vector<ObjectID>{id_});
}

TEST_F(ReferenceCounterTest, ReleaseListenerHearsOfTheLastRefOnce) {
  std::vector<ObjectID> released;
  refs_->SetReleaseListener([&](const ObjectID& id) {
    EXPECT_FALSE(refs_->IsHeld(id));  // Called without the counter's lock: this would deadlock.
    released.push_back(id);
  });
  refs_->AddRef(id_);
  refs_->AddRef(id_);
  refs_->RemoveRef(id_);
  EXPECT_TRUE(released.empty());
  refs_->RemoveRef(id_);
  EXPECT_EQ(released, std::vector<ObjectID>{id_});
  refs_->RemoveRef(id_);  // Not held: nothing happens.
  refs_->RemoveRef(ObjectID::FromRandom());
  EXPECT_EQ(released.size(), 1u);
}

TEST_F(ReferenceCounterTest, ActorRefsSendOnlyTheFirstAndTheLast) {
  ActorID actor = ActorID::FromRandom();
  refs_->AddActorRef(actor);
  auto added = NextUpdate();
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->actors_added, std::vector<ActorID>{actor});
  EXPECT_TRUE(added->actors_removed.empty());
  refs_->AddActorRef(actor);
  refs_->RemoveActorRef(actor);
  ExpectNothingSent();
  refs_->RemoveActorRef(actor);
  auto removed = NextUpdate();
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->actors_removed, std::vector<ActorID>{actor});
  EXPECT_TRUE(removed->actors_added.empty());
  refs_->RemoveActorRef(actor);  // Not held: nothing.
  ExpectNothingSent();
  refs_->AddActorRef(actor);  // 0 -> 1 again.
  added = NextUpdate();
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->actors_added, std::vector<ActorID>{actor});
}

}  // namespace
}  // namespace rayx
