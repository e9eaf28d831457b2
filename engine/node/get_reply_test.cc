#include "engine/node/get_reply.h"

#include <gtest/gtest.h>

#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

std::vector<const StoredValue*> Pointers(const std::vector<StoredValue>& values) {
  std::vector<const StoredValue*> out;
  for (const StoredValue& v : values) out.push_back(&v);
  return out;
}

TEST(GetReplyTest, PrefixIsAtLeastOneAndWithinBudget) {
  StoredValue big;
  big.inline_data.assign(1000, 'x');
  std::vector<StoredValue> values(10, big);
  EXPECT_EQ(GetReplyPrefix(Pointers(values), 1), 1u);  // One even when it alone is over.
  EXPECT_EQ(GetReplyPrefix(Pointers(values), 1u << 20), 10u);
  size_t n = GetReplyPrefix(Pointers(values), 3500);
  EXPECT_GE(n, 2u);
  EXPECT_LE(n, 3u);
  EXPECT_EQ(GetReplyPrefix({}, 100), 0u);
}

// For a driver over TCP the shared-memory values come inline: their sizes count against the budget.
TEST(GetReplyTest, SharedMemoryValuesCountWhenSentInline) {
  StoredValue shm;
  shm.in_shm = true;
  shm.shm_size = 30u << 20;
  std::vector<StoredValue> values(4, shm);
  EXPECT_EQ(GetReplyPrefix(Pointers(values)), 4u);  // Mapped by the client: only their ids travel.
  EXPECT_EQ(GetReplyPrefix(Pointers(values), kGetReplyBudget, /*shm_inline=*/true), 2u);
}

// A client that follows the rule of protocol.fbs (GetReply): it asks again for the ids it did not
// get. 3,000 inline values of 90 KiB (270 MB) come back whole and in order, in replies that each
// fit a frame.
TEST(GetReplyTest, ManyLargeInlineValuesComeInFramesThatFit) {
  constexpr size_t kCount = 3000;
  std::vector<ObjectID> ids;
  std::vector<StoredValue> stored(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    ids.push_back(ObjectID::ForReturn(TaskID::FromRandom(), 0));
    stored[i].inline_data.assign(90 * 1024, static_cast<char>('a' + i % 26));
    stored[i].inline_data.replace(0, std::to_string(i).size(), std::to_string(i));
  }
  std::vector<const StoredValue*> all = Pointers(stored);

  size_t next = 0;
  int replies = 0;
  while (next < kCount) {
    // The node's side of one GetObjects for ids[next..].
    std::vector<ObjectID> asked(ids.begin() + next, ids.end());
    std::vector<const StoredValue*> values(all.begin() + next, all.end());
    size_t n = GetReplyPrefix(values);
    flatbuffers::FlatBufferBuilder b(256);
    std::string_view frame = BuildGetReply(b, 7, false, asked, values, n);
    ASSERT_LE(frame.size(), kMaxFrameSize);
    ++replies;

    // The client's side.
    auto envelope = ParseEnvelope(frame);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    const wire::GetReply* reply = (*envelope)->message_as_GetReply();
    ASSERT_NE(reply, nullptr);
    ASSERT_NE(reply->values(), nullptr);
    ASSERT_GE(reply->values()->size(), 1u);
    for (const auto* value : *reply->values()) {
      auto id = UnpackId<ObjectID>(value->object_id());
      ASSERT_TRUE(id.ok());
      ASSERT_EQ(*id, ids[next]);
      ASSERT_EQ(BytesOf(value->data()), stored[next].inline_data) << "value " << next;
      ++next;
    }
  }
  EXPECT_EQ(next, kCount);
  EXPECT_GE(replies, 5);  // 270 MB in replies of at most 64 MiB.
}

TEST(GetReplyTest, TimedOutCarriesNoValues) {
  std::vector<ObjectID> ids = {ObjectID::ForReturn(TaskID::FromRandom(), 0)};
  std::vector<const StoredValue*> values = {nullptr};
  flatbuffers::FlatBufferBuilder b;
  auto envelope = ParseEnvelope(BuildGetReply(b, 1, true, ids, values, 0));
  ASSERT_TRUE(envelope.ok());
  const wire::GetReply* reply = (*envelope)->message_as_GetReply();
  EXPECT_TRUE(reply->timed_out());
  EXPECT_EQ(reply->values()->size(), 0u);
}

}  // namespace
}  // namespace rayx
