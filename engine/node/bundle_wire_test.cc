// BundleRequest frames: what the creating node sends reads back the same; what a broken or hostile
// member could send is refused with an error (the node then closes that link), never trusted.
#include "engine/node/bundle_wire.h"

#include <gtest/gtest.h>

#include "engine/sched/placement_group_resources.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

StatusOr<BundleRequestFields> RoundTrip(const BundleRequestFields& fields) {
  std::string frame = BundleRequestFrame(fields);
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  if (envelope->message_type() != wire::Message::BundleRequest) {
    return InvalidArgument("not a BundleRequest");
  }
  return ReadBundleRequest(envelope->message_as_BundleRequest());
}

BundleRequestFields Prepare() {
  BundleRequestFields fields;
  fields.request_id = 7;
  fields.op = wire::BundleOp::Prepare;
  fields.group_id = std::string(kPlacementGroupIdSize, 'g');
  fields.bundles = {{0, Res({{"CPU", 1}})}, {2, Res({{"GPU", 1}, {"b", 0.5}})}};
  return fields;
}

TEST(BundleWireTest, RequestReadsBackAsSent) {
  StatusOr<BundleRequestFields> read = RoundTrip(Prepare());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->request_id, 7u);
  EXPECT_EQ(read->op, wire::BundleOp::Prepare);
  EXPECT_EQ(read->group_id, std::string(kPlacementGroupIdSize, 'g'));
  ASSERT_EQ(read->bundles.size(), 2u);
  EXPECT_EQ(read->bundles[1].first, 2);
  EXPECT_EQ(read->bundles[1].second, Res({{"GPU", 1}, {"b", 0.5}}));
  BundleRequestFields ret = Prepare();
  ret.op = wire::BundleOp::Return;
  ret.bundles = {{1, ResourceSet()}};
  ret.why = "removed";
  read = RoundTrip(ret);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->why, "removed");
  EXPECT_EQ(read->bundles[0].first, 1);
}

TEST(BundleWireTest, MalformedRequestsAreRefused) {
  BundleRequestFields short_id = Prepare();
  short_id.group_id = "abc";
  EXPECT_FALSE(RoundTrip(short_id).ok());
  BundleRequestFields far_index = Prepare();
  far_index.bundles = {{static_cast<int>(kMaxBundlesPerRequest), Res({{"CPU", 1}})}};
  EXPECT_FALSE(RoundTrip(far_index).ok());
  BundleRequestFields empty_bundle = Prepare();
  empty_bundle.bundles = {{0, ResourceSet()}};
  EXPECT_FALSE(RoundTrip(empty_bundle).ok());
  BundleRequestFields bad_op = Prepare();
  bad_op.op = static_cast<wire::BundleOp>(9);
  EXPECT_FALSE(RoundTrip(bad_op).ok());
  // A negative amount, which ResourceSet cannot hold, written by hand.
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts = {
      wire::CreateResourceAmount(b, b.CreateString("CPU"), -1)};
  std::vector<flatbuffers::Offset<wire::IndexedBundle>> bundles = {
      wire::CreateIndexedBundle(b, 0, b.CreateVector(amounts))};
  std::string id(kPlacementGroupIdSize, 'g');
  auto request = wire::CreateBundleRequest(
      b, 1, wire::BundleOp::Prepare,
      b.CreateVector(reinterpret_cast<const uint8_t*>(id.data()), id.size()),
      b.CreateVector(bundles), 0);
  std::string frame(FinishEnvelope(b, request));
  StatusOr<const wire::Envelope*> envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok());
  EXPECT_FALSE(ReadBundleRequest((*envelope)->message_as_BundleRequest()).ok());
  // Garbage never parses.
  EXPECT_FALSE(ParseEnvelope(std::string("\x10\x00\x00\x00garbage-garbage", 19)).ok());
}

}  // namespace
}  // namespace rayx
