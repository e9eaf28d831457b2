#include "engine/wire/messages.h"

#include <gtest/gtest.h>

#include <string>

namespace rayx {
namespace {

TEST(MessagesTest, ParsesAVerifiedEnvelope) {
  flatbuffers::FlatBufferBuilder b;
  std::string frame(FinishEnvelope(b, wire::CreateInfoRequest(b, 7)));
  auto envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  ASSERT_NE((*envelope)->message_as_InfoRequest(), nullptr);
  EXPECT_EQ((*envelope)->message_as_InfoRequest()->request_id(), 7u);
}

TEST(MessagesTest, RefusesGarbageAndEmptyEnvelopes) {
  EXPECT_EQ(ParseEnvelope("garbage").status().code(), StatusCode::kProtocolError);
  flatbuffers::FlatBufferBuilder b;
  b.Finish(wire::CreateEnvelope(b));
  std::string empty(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(ParseEnvelope(empty).status().code(), StatusCode::kProtocolError);
}

// Found by //engine/node:envelope_fuzz_test: the verifier passes a union whose type is set and
// whose value is absent, and the node read the missing message through a null pointer.
TEST(MessagesTest, RefusesATypeWithoutItsMessage) {
  flatbuffers::FlatBufferBuilder b;
  wire::EnvelopeBuilder e(b);
  e.add_message_type(wire::Message::SubmitTask);
  b.Finish(e.Finish());
  std::string frame(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(ParseEnvelope(frame).status().code(), StatusCode::kProtocolError);
}

}  // namespace
}  // namespace rayx
