#include "engine/node/named_actor_list.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/wire/messages.h"

namespace rayx {
namespace {

// The list as a peer would receive it: built, finished in an envelope, verified and read back.
StatusOr<NamedActorEntries> RoundTrip(const StatusOr<NamedActorEntries>& listed) {
  flatbuffers::FlatBufferBuilder b(256);
  std::string frame(FinishEnvelope(b, NamedActorsToWire(b, 7, listed)));
  StatusOr<const wire::Envelope*> envelope = ParseEnvelope(frame);
  if (!envelope.ok()) return envelope.status();
  const wire::NamedActorList* list = (*envelope)->message_as_NamedActorList();
  if (list == nullptr || list->request_id() != 7) return ProtocolError("not the list sent");
  return NamedActorsFromWire(list);
}

TEST(NamedActorListTest, MergesSortedAndOnce) {
  NamedActorEntries into = {{"a", "x"}, {"b", "y"}};
  ASSERT_TRUE(MergeNamedActors(&into, {{"a", "w"}, {"b", "y"}, {"c", "z"}}).ok());
  EXPECT_EQ(into, (NamedActorEntries{{"a", "w"}, {"a", "x"}, {"b", "y"}, {"c", "z"}}));
}

TEST(NamedActorListTest, RefusesAListPastTheLimitAndKeepsWhatItHad) {
  NamedActorEntries into = {{"ns", "kept"}};
  NamedActorEntries more;
  std::string long_name(1u << 20, 'n');
  for (int i = 0; i < 5; ++i) more.emplace_back("ns", long_name + std::to_string(i));
  Status status = MergeNamedActors(&into, more);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("more named actors"), std::string::npos);
  EXPECT_EQ(into, (NamedActorEntries{{"ns", "kept"}}));
}

TEST(NamedActorListTest, EntriesAndErrorsSurviveTheWire) {
  NamedActorEntries entries = {{"", "anonymous-ns"}, {"ns", "a"}, {"ns", "b"}};
  StatusOr<NamedActorEntries> back = RoundTrip(entries);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, entries);
  StatusOr<NamedActorEntries> empty = RoundTrip(NamedActorEntries{});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  StatusOr<NamedActorEntries> failed = RoundTrip(InvalidArgument("too many"));
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.status().message(), "too many");
}

TEST(NamedActorListTest, AHostileListIsAnErrorOrPutInOrder) {
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::NamedActor>> actors = {
      wire::CreateNamedActor(b, b.CreateString("ns"), b.CreateString("z")),
      wire::CreateNamedActor(b, 0, b.CreateString("a")),
      wire::CreateNamedActor(b, b.CreateString("ns"), b.CreateString("z"))};
  std::string frame(FinishEnvelope(b, wire::CreateNamedActorList(b, 1, b.CreateVector(actors))));
  auto envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok());
  StatusOr<NamedActorEntries> read = NamedActorsFromWire((*envelope)->message_as_NamedActorList());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, (NamedActorEntries{{"", "a"}, {"ns", "z"}}));

  flatbuffers::FlatBufferBuilder nameless(128);
  std::vector<flatbuffers::Offset<wire::NamedActor>> bad = {
      wire::CreateNamedActor(nameless, nameless.CreateString("ns"), 0)};
  frame = std::string(FinishEnvelope(
      nameless, wire::CreateNamedActorList(nameless, 1, nameless.CreateVector(bad))));
  envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(NamedActorsFromWire((*envelope)->message_as_NamedActorList()).status().code(),
            StatusCode::kProtocolError);
}

}  // namespace
}  // namespace rayx
