// ObjectClient::Free and ObjectClient::List against a fake node: what they send, and that a reply
// from the node is checked before it is read (internal_api.free and memory_summary).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/object_client_fixture.h"

namespace rayx {
namespace {

class ObjectListTest : public ObjectClientFixture {
 protected:
  // Reads the ListObjects the client sent and returns its request id (0 if none came).
  uint64_t ReadList() {
    std::optional<std::string> frame = FakeNode::ReadFrame(client_, kWaitMs);
    if (MessageType(frame) != wire::Message::ListObjects) return 0;
    return (*ParseEnvelope(*frame))->message_as_ListObjects()->request_id();
  }

  // Answers request_id with one object whose vectors have the lengths given.
  void ReplyList(uint64_t request_id, size_t sizes, uint8_t state) {
    flatbuffers::FlatBufferBuilder b(256);
    std::vector<uint64_t> size_values(sizes, 1024);
    std::vector<uint8_t> states{state};
    std::vector<uint32_t> counts{2};
    auto reply = wire::CreateObjectList(b, request_id, PackIds(b, std::vector<ObjectID>{id_}),
                                        b.CreateVector(size_values), b.CreateVector(states),
                                        b.CreateVector(counts), b.CreateVector(counts),
                                        b.CreateVector(counts), b.CreateVector(counts), 3);
    ASSERT_TRUE(FakeNode::SendFrame(client_, FinishEnvelope(b, reply)).ok());
  }

  ObjectID id_ = ObjectID::FromRandom();
};

TEST_F(ObjectListTest, ListReadsEachEntry) {
  auto listed = std::async(std::launch::async, [this] { return objects_->List(); });
  uint64_t request_id = ReadList();
  ASSERT_NE(request_id, 0u);
  ReplyList(request_id, 1, static_cast<uint8_t>(ObjectState::kSpilled));
  StatusOr<ObjectListing> listing = listed.get();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->objects.size(), 1u);
  const ObjectEntryInfo& info = listing->objects[0];
  EXPECT_EQ(info.id, id_);
  EXPECT_EQ(info.size, 1024u);
  EXPECT_EQ(info.state, ObjectState::kSpilled);
  EXPECT_EQ(info.holders, 2u);
  EXPECT_EQ(info.contained_in, 2u);
  EXPECT_EQ(listing->truncated, 3u);
}

TEST_F(ObjectListTest, VectorsOfDifferentLengthsAreAProtocolError) {
  auto listed = std::async(std::launch::async, [this] { return objects_->List(); });
  uint64_t request_id = ReadList();
  ASSERT_NE(request_id, 0u);
  ReplyList(request_id, 2, 0);
  EXPECT_EQ(listed.get().status().code(), StatusCode::kProtocolError);
}

TEST_F(ObjectListTest, AnUnknownStateIsAProtocolError) {
  auto listed = std::async(std::launch::async, [this] { return objects_->List(); });
  uint64_t request_id = ReadList();
  ASSERT_NE(request_id, 0u);
  ReplyList(request_id, 1, 200);
  EXPECT_EQ(listed.get().status().code(), StatusCode::kProtocolError);
}

TEST_F(ObjectListTest, FreeSendsTheIdsAndReturnsHowManyTheNodeFreed) {
  std::vector<ObjectID> ids{ObjectID::FromRandom(), ObjectID::FromRandom()};
  auto freed = std::async(std::launch::async, [this, ids] { return objects_->Free(ids); });
  std::optional<std::string> frame = FakeNode::ReadFrame(client_, kWaitMs);
  ASSERT_EQ(MessageType(frame), wire::Message::FreeObjects);
  const wire::FreeObjects* request = (*ParseEnvelope(*frame))->message_as_FreeObjects();
  EXPECT_EQ(UnpackIds<ObjectID>(request->ids()).value(), ids);
  flatbuffers::FlatBufferBuilder b(64);
  ASSERT_TRUE(FakeNode::SendFrame(client_, FinishEnvelope(b, wire::CreateFreeObjectsReply(
                                                                 b, request->request_id(), 1)))
                  .ok());
  StatusOr<uint32_t> count = freed.get();
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1u);
}

}  // namespace
}  // namespace rayx
