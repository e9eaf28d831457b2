#include "engine/cluster/auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/cluster/peer_wire.h"

namespace rayx {
namespace {

// Runs the exchange between two authenticators in memory; returns the dialer's and listener's
// final statuses.
struct Outcome {
  Status dialer;
  Status listener;
};

Outcome Exchange(Authenticator& dialer, Authenticator& listener) {
  Outcome outcome;
  std::vector<std::string> to_listener = {dialer.Begin()};
  std::vector<std::string> to_dialer;
  for (int round = 0; round < 4; ++round) {
    for (const std::string& f : to_listener) {
      auto e = ParsePeer(f);
      EXPECT_TRUE(e.ok());
      Status s = listener.OnMessage(**e, &to_dialer);
      if (!s.ok()) outcome.listener = s;
    }
    to_listener.clear();
    for (const std::string& f : to_dialer) {
      auto e = ParsePeer(f);
      EXPECT_TRUE(e.ok());
      Status s = dialer.OnMessage(**e, &to_listener);
      if (!s.ok()) outcome.dialer = s;
    }
    to_dialer.clear();
  }
  return outcome;
}

TEST(AuthTest, SameTokenAuthenticatesBothWays) {
  Authenticator dialer(Authenticator::Role::kDialer, "secret", peer::LinkPurpose::Observer);
  Authenticator listener(Authenticator::Role::kListener, "secret");
  Outcome o = Exchange(dialer, listener);
  EXPECT_TRUE(o.dialer.ok()) << o.dialer;
  EXPECT_TRUE(o.listener.ok()) << o.listener;
  EXPECT_TRUE(dialer.done());
  EXPECT_TRUE(listener.done());
  EXPECT_EQ(listener.purpose(), peer::LinkPurpose::Observer);
}

TEST(AuthTest, WrongTokenIsRefusedAndSaysSo) {
  Authenticator dialer(Authenticator::Role::kDialer, "wrong");
  Authenticator listener(Authenticator::Role::kListener, "secret");
  Outcome o = Exchange(dialer, listener);
  EXPECT_FALSE(dialer.done());
  EXPECT_FALSE(listener.done());
  // The dialer sees the listener's proof fail first and stops there.
  EXPECT_NE(o.dialer.message().find("token"), std::string::npos) << o.dialer;
}

TEST(AuthTest, MissingTokenIsRefused) {
  Authenticator dialer(Authenticator::Role::kDialer, "");
  Authenticator listener(Authenticator::Role::kListener, "secret");
  Outcome o = Exchange(dialer, listener);
  EXPECT_FALSE(o.dialer.ok());
  EXPECT_FALSE(dialer.done());
  EXPECT_FALSE(listener.done());
}

TEST(AuthTest, ListenerRefusesAWrongProofAndTellsTheDialer) {
  // A dialer that does not check the listener's proof (a hostile one) still cannot get in.
  Authenticator listener(Authenticator::Role::kListener, "secret");
  Authenticator probe(Authenticator::Role::kDialer, "secret");
  std::vector<std::string> out;
  auto hello = probe.Begin();
  ASSERT_TRUE(listener.OnMessage(**ParsePeer(hello), &out).ok());
  flatbuffers::FlatBufferBuilder b(96);
  std::string fake(32, 'x');
  auto p = b.CreateVector(reinterpret_cast<const uint8_t*>(fake.data()), fake.size());
  std::string frame(FinishPeer(b, peer::CreateAuthProof(b, p)));
  out.clear();
  Status s = listener.OnMessage(**ParsePeer(frame), &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("token"), std::string::npos);
  ASSERT_EQ(out.size(), 1u);
  const peer::AuthResult* result = (*ParsePeer(out[0]))->message_as_AuthResult();
  ASSERT_NE(result, nullptr);
  EXPECT_FALSE(result->ok());
}

TEST(AuthTest, TheTokenNeverCrossesTheWire) {
  const std::string token = "a-very-recognizable-token-0123456789";
  Authenticator dialer(Authenticator::Role::kDialer, token);
  Authenticator listener(Authenticator::Role::kListener, token);
  std::vector<std::string> wire = {dialer.Begin()};
  std::vector<std::string> back;
  ASSERT_TRUE(listener.OnMessage(**ParsePeer(wire[0]), &back).ok());
  std::vector<std::string> proof;
  ASSERT_TRUE(dialer.OnMessage(**ParsePeer(back[0]), &proof).ok());
  std::vector<std::string> result;
  ASSERT_TRUE(listener.OnMessage(**ParsePeer(proof[0]), &result).ok());
  for (const auto* frames : {&wire, &back, &proof, &result}) {
    for (const std::string& f : *frames) EXPECT_EQ(f.find(token), std::string::npos);
  }
}

TEST(AuthTest, OutOfOrderMessagesAreProtocolErrors) {
  Authenticator listener(Authenticator::Role::kListener, "secret");
  flatbuffers::FlatBufferBuilder b(32);
  std::string frame(FinishPeer(b, peer::CreateStatusRequest(b)));
  std::vector<std::string> out;
  Status s = listener.OnMessage(**ParsePeer(frame), &out);
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);
  EXPECT_EQ(listener.state(), Authenticator::State::kFailed);
}

TEST(AuthTest, ProofsDependOnLabelAndNonces) {
  EXPECT_NE(AuthProof("k", "a", "x", "y"), AuthProof("k", "b", "x", "y"));
  EXPECT_NE(AuthProof("k", "a", "x", "y"), AuthProof("k", "a", "y", "x"));
  EXPECT_NE(AuthProof("k", "a", "x", "y"), AuthProof("j", "a", "x", "y"));
  EXPECT_EQ(AuthProof("k", "a", "x", "y").size(), 32u);
}

TEST(PeerWireTest, GarbageFailsVerification) {
  std::string garbage = "\x10\x00\x00\x00garbage-garbage-garbage";
  EXPECT_EQ(ParsePeer(garbage).status().code(), StatusCode::kProtocolError);
  EXPECT_EQ(ParsePeer("").status().code(), StatusCode::kProtocolError);
}

}  // namespace
}  // namespace rayx

namespace rayx {
namespace {

// The verifier passes a union whose type is set and whose value is absent (found by
// //engine/node:envelope_fuzz_test on the client protocol): ParsePeer refuses it, as
// ParseEnvelope does.
TEST(PeerWireTest, RefusesATypeWithoutItsMessage) {
  flatbuffers::FlatBufferBuilder b;
  peer::PeerEnvelopeBuilder e(b);
  e.add_message_type(peer::PeerMessageTraits<peer::AuthHello>::enum_value);
  b.Finish(e.Finish());
  std::string frame(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(ParsePeer(frame).status().code(), StatusCode::kProtocolError);
}

}  // namespace
}  // namespace rayx
