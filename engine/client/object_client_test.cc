#include "engine/client/object_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/client/object_client_fixture.h"

namespace rayx {
namespace {

// What a Get in another thread came back with.
struct GetResult {
  StatusOr<std::vector<IncomingValue>> values = Unavailable("not returned");
  bool timed_out = false;
};

class ObjectClientTest : public ObjectClientFixture {
 protected:
  void SetUp() override {
    ObjectClientFixture::SetUp();
    for (int i = 0; i < 5; ++i) ids_.push_back(ObjectID::FromRandom());
  }

  // Runs a Get of ids in another thread.
  std::future<GetResult> StartGet(const std::vector<ObjectID>& ids, int64_t timeout_ms) {
    return std::async(std::launch::async, [this, ids, timeout_ms] {
      GetResult result;
      result.values = objects_->Get(ids, timeout_ms, &result.timed_out);
      return result;
    });
  }

  // Reads the next GetObjects and returns its request id, ids and timeout.
  struct Asked {
    uint64_t request_id = 0;
    std::vector<ObjectID> ids;
    int64_t timeout_ms = 0;
  };
  std::optional<Asked> ReadGet() {
    std::optional<std::string> frame = FakeNode::ReadFrame(client_, kWaitMs);
    if (MessageType(frame) != wire::Message::GetObjects) return std::nullopt;
    const wire::GetObjects* get = (*ParseEnvelope(*frame))->message_as_GetObjects();
    return Asked{get->request_id(), UnpackIds<ObjectID>(get->ids()).value(), get->timeout_ms()};
  }

  // Answers request_id with inline values for ids [first, first + count) of asked, each made by
  // data_of from its index in asked.
  void Reply(uint64_t request_id, const std::vector<ObjectID>& asked, size_t first, size_t count,
             const std::function<std::string(size_t)>& data_of, bool timed_out = false) {
    flatbuffers::FlatBufferBuilder b(1024);
    std::vector<flatbuffers::Offset<wire::ObjectValue>> values;
    for (size_t i = first; i < first + count; ++i) {
      values.push_back(ValueIo::BuildInline(b, asked[i], ValueKind::kValue, data_of(i)));
    }
    auto reply = wire::CreateGetReply(b, request_id, timed_out, b.CreateVector(values));
    ASSERT_TRUE(FakeNode::SendFrame(client_, FinishEnvelope(b, reply)).ok());
  }

  static std::string Name(size_t i) { return "value " + std::to_string(i); }

  std::vector<ObjectID> ids_;
};

TEST_F(ObjectClientTest, GetAsksAgainForTheRestOfAPartialReply) {
  auto get = StartGet(ids_, -1);
  size_t done = 0;
  for (size_t part : {2, 1, 2}) {  // Prefixes of what is still asked for.
    auto asked = ReadGet();
    ASSERT_TRUE(asked.has_value());
    std::vector<ObjectID> rest(ids_.begin() + static_cast<std::ptrdiff_t>(done), ids_.end());
    EXPECT_EQ(asked->ids, rest) << "after " << done << " values";
    EXPECT_LT(asked->timeout_ms, 0);
    Reply(asked->request_id, ids_, done, part, Name);
    done += part;
  }
  ASSERT_EQ(get.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
  GetResult result = get.get();
  ASSERT_TRUE(result.values.ok()) << result.values.status();
  EXPECT_FALSE(result.timed_out);
  ASSERT_EQ(result.values->size(), ids_.size());
  for (size_t i = 0; i < ids_.size(); ++i) EXPECT_EQ(result.values->at(i).inline_data, Name(i));
  EXPECT_FALSE(FakeNode::ReadFrame(client_, 100).has_value()) << "asked once too often";
}

TEST_F(ObjectClientTest, GetReplyWithNoValuesIsAProtocolError) {
  auto get = StartGet(ids_, -1);
  auto asked = ReadGet();
  ASSERT_TRUE(asked.has_value());
  Reply(asked->request_id, ids_, 0, 0, Name);
  ASSERT_EQ(get.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
  GetResult result = get.get();
  EXPECT_EQ(result.values.status().code(), StatusCode::kProtocolError);
}

TEST_F(ObjectClientTest, GetReplyWithMoreValuesThanAskedIsAProtocolError) {
  auto get = StartGet({ids_[0]}, -1);
  auto asked = ReadGet();
  ASSERT_TRUE(asked.has_value());
  Reply(asked->request_id, ids_, 0, 2, Name);
  ASSERT_EQ(get.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
  EXPECT_EQ(get.get().values.status().code(), StatusCode::kProtocolError);
}

TEST_F(ObjectClientTest, GetTimesOut) {
  auto get = StartGet(ids_, 50);
  auto asked = ReadGet();
  ASSERT_TRUE(asked.has_value());
  EXPECT_GE(asked->timeout_ms, 0);
  EXPECT_LE(asked->timeout_ms, 50);
  Reply(asked->request_id, ids_, 0, 0, Name, /*timed_out=*/true);
  ASSERT_EQ(get.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
  GetResult result = get.get();
  ASSERT_TRUE(result.values.ok()) << result.values.status();
  EXPECT_TRUE(result.timed_out);
  EXPECT_TRUE(result.values->empty());
}

// A get that times out after part of the values came returns none of them.
TEST_F(ObjectClientTest, GetThatTimesOutAfterAPartReturnsNothing) {
  auto get = StartGet(ids_, 10000);
  auto asked = ReadGet();
  ASSERT_TRUE(asked.has_value());
  Reply(asked->request_id, ids_, 0, 3, Name);
  asked = ReadGet();
  ASSERT_TRUE(asked.has_value());
  EXPECT_EQ(asked->ids.size(), 2u);
  EXPECT_LE(asked->timeout_ms, 10000);  // What is left of the get's timeout.
  Reply(asked->request_id, ids_, 3, 0, Name, /*timed_out=*/true);
  ASSERT_EQ(get.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
  GetResult result = get.get();
  ASSERT_TRUE(result.values.ok()) << result.values.status();
  EXPECT_TRUE(result.timed_out);
  EXPECT_TRUE(result.values->empty());
}

// 3,000 values of 90 KiB (264 MiB, more than one frame may hold) served in parts.
TEST_F(ObjectClientTest, LargeGetServedInPartsReturnsEveryValue) {
  constexpr size_t kCount = 3000;
  constexpr size_t kSize = 90 * 1024;
  std::vector<ObjectID> ids;
  for (size_t i = 0; i < kCount; ++i) ids.push_back(ObjectID::FromRandom());
  auto data_of = [](size_t i) {
    std::string data(kSize, static_cast<char>(i % 251));
    data[0] = static_cast<char>(i & 0xff);
    data[kSize - 1] = static_cast<char>((i >> 8) & 0xff);
    return data;
  };
  auto get = StartGet(ids, -1);
  size_t done = 0;
  size_t rounds = 0;
  while (done < kCount) {
    auto asked = ReadGet();
    ASSERT_TRUE(asked.has_value()) << "after " << done << " values";
    ASSERT_EQ(asked->ids.size(), kCount - done);
    ASSERT_EQ(asked->ids.front(), ids[done]);
    size_t part = std::min<size_t>(kCount - done, rounds % 2 == 0 ? 1000 : 333);
    Reply(asked->request_id, ids, done, part, data_of);
    done += part;
    ++rounds;
  }
  ASSERT_EQ(get.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  GetResult result = get.get();
  ASSERT_TRUE(result.values.ok()) << result.values.status();
  ASSERT_EQ(result.values->size(), kCount);
  for (size_t i = 0; i < kCount; ++i) {
    const std::string& data = result.values->at(i).inline_data;
    ASSERT_EQ(data.size(), kSize) << i;
    ASSERT_EQ(data[0], static_cast<char>(i & 0xff)) << i;
    ASSERT_EQ(data[kSize / 2], static_cast<char>(i % 251)) << i;
    ASSERT_EQ(data[kSize - 1], static_cast<char>((i >> 8) & 0xff)) << i;
  }
}

// A generator's item goes out with its own id, flagged, and is not counted as held here.
TEST_F(ObjectClientTest, PutItemSendsTheItemFlaggedUnderItsId) {
  ObjectID item = ObjectID::ForReturn(TaskID::ForDriver(channel_->welcome().job_id), 3);
  std::string data = "item";
  OutgoingValue value;
  value.data = ByteSpan{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  ASSERT_TRUE(objects_->PutItem(item, value).ok());
  std::optional<std::string> frame = FakeNode::ReadFrame(client_, kWaitMs);
  ASSERT_EQ(MessageType(frame), wire::Message::PutObject);
  const wire::PutObject* put = (*ParseEnvelope(*frame))->message_as_PutObject();
  EXPECT_TRUE(put->generator_item());
  EXPECT_FALSE(put->promotion());
  EXPECT_EQ(put->request_id(), 0u);  // Inline: no reply awaited.
  EXPECT_EQ(UnpackId<ObjectID>(put->value()->object_id()).value(), item);
  EXPECT_FALSE(refs_->IsHeld(item));
  // An ordinary put is not flagged.
  ASSERT_TRUE(objects_->Put(value).ok());
  frame = FakeNode::ReadFrame(client_, kWaitMs);
  ASSERT_EQ(MessageType(frame), wire::Message::PutObject);
  EXPECT_FALSE((*ParseEnvelope(*frame))->message_as_PutObject()->generator_item());
}

TEST_F(ObjectClientTest, WaitTellsTheNodeWhetherUnknownIdsArePending) {
  for (bool unknown_pending : {false, true}) {
    auto wait = std::async(std::launch::async, [this, unknown_pending] {
      return objects_->Wait({ids_[0], ids_[1]}, 1, -1, unknown_pending);
    });
    std::optional<std::string> frame = FakeNode::ReadFrame(client_, kWaitMs);
    ASSERT_EQ(MessageType(frame), wire::Message::WaitObjects);
    const wire::WaitObjects* asked = (*ParseEnvelope(*frame))->message_as_WaitObjects();
    EXPECT_EQ(asked->unknown_pending(), unknown_pending);
    flatbuffers::FlatBufferBuilder b(128);
    std::vector<uint8_t> flags = {0, 1};
    auto reply = wire::CreateWaitReply(b, asked->request_id(), b.CreateVector(flags));
    ASSERT_TRUE(FakeNode::SendFrame(client_, FinishEnvelope(b, reply)).ok());
    ASSERT_EQ(wait.wait_for(std::chrono::seconds(kWaitMs / 1000)), std::future_status::ready);
    auto ready = wait.get();
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(*ready, (std::vector<bool>{false, true}));
  }
}

}  // namespace
}  // namespace rayx
