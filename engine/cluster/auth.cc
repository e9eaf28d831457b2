#include "engine/cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "engine/cluster/peer_wire.h"

namespace rayx {

const char kTokenRefusedMessage[] =
    "authentication failed: the cluster token does not match (a wrong or missing "
    "RAYX_CLUSTER_TOKEN or --token-file)";

namespace {

constexpr char kListenerLabel[] = "rayx-listener";
constexpr char kDialerLabel[] = "rayx-dialer";

std::string RandomNonce() {
  std::string nonce(kAuthNonceSize, '\0');
  RAYX_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()),
                        static_cast<int>(nonce.size())) == 1)
      << "RAND_bytes failed";
  return nonce;
}

bool ProofMatches(const std::string& expected, const flatbuffers::Vector<uint8_t>* got) {
  if (got == nullptr || got->size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), got->data(), expected.size()) == 0;
}

std::string_view Bytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

}  // namespace

std::string AuthProof(std::string_view key, std::string_view label, std::string_view a,
                      std::string_view b) {
  std::string message;
  message.reserve(label.size() + a.size() + b.size());
  message.append(label).append(a).append(b);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is allowed: HMAC pads the key to the block size.
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  RAYX_CHECK(HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
                  reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
                  &len) != nullptr)
      << "HMAC-SHA256 failed";
  return std::string(reinterpret_cast<const char*>(mac), len);
}

Authenticator::Authenticator(Role role, std::string token, peer::LinkPurpose purpose)
    : role_(role), token_(std::move(token)), purpose_(purpose) {
  if (role_ == Role::kListener) state_ = State::kAwaitChallenge;  // Awaits the dialer's hello.
}

std::string Authenticator::Begin() {
  RAYX_CHECK(role_ == Role::kDialer && state_ == State::kStart);
  my_nonce_ = RandomNonce();
  flatbuffers::FlatBufferBuilder b(128);
  auto nonce = b.CreateVector(reinterpret_cast<const uint8_t*>(my_nonce_.data()), my_nonce_.size());
  state_ = State::kAwaitChallenge;
  return std::string(
      FinishPeer(b, peer::CreateAuthHello(b, kPeerProtocolVersion, purpose_, nonce)));
}

Status Authenticator::Fail(Status why) {
  state_ = State::kFailed;
  return why;
}

Status Authenticator::OnMessage(const peer::PeerEnvelope& envelope, std::vector<std::string>* out) {
  using peer::PeerMessage;
  if (role_ == Role::kListener && state_ == State::kAwaitChallenge) {
    const peer::AuthHello* hello = envelope.message_as_AuthHello();
    if (hello == nullptr) return Fail(ProtocolError("expected AuthHello"));
    if (hello->version() != kPeerProtocolVersion) {
      return Fail(ProtocolError("peer protocol version " + std::to_string(hello->version()) +
                                ", expected " + std::to_string(kPeerProtocolVersion)));
    }
    if (hello->nonce() == nullptr || hello->nonce()->size() != kAuthNonceSize) {
      return Fail(ProtocolError("AuthHello without a nonce of the right size"));
    }
    purpose_ = hello->purpose();
    if (purpose_ > peer::LinkPurpose::MAX) {
      return Fail(ProtocolError("unknown link purpose"));
    }
    their_nonce_ = std::string(Bytes(hello->nonce()));
    my_nonce_ = RandomNonce();
    std::string proof = AuthProof(token_, kListenerLabel, their_nonce_, my_nonce_);
    flatbuffers::FlatBufferBuilder b(160);
    auto nonce =
        b.CreateVector(reinterpret_cast<const uint8_t*>(my_nonce_.data()), my_nonce_.size());
    auto p = b.CreateVector(reinterpret_cast<const uint8_t*>(proof.data()), proof.size());
    out->emplace_back(FinishPeer(b, peer::CreateAuthChallenge(b, nonce, p)));
    state_ = State::kAwaitProof;
    return Status::OK();
  }
  if (role_ == Role::kListener && state_ == State::kAwaitProof) {
    const peer::AuthProof* proof = envelope.message_as_AuthProof();
    if (proof == nullptr) return Fail(ProtocolError("expected AuthProof"));
    std::string expected = AuthProof(token_, kDialerLabel, my_nonce_, their_nonce_);
    const bool ok = ProofMatches(expected, proof->proof());
    flatbuffers::FlatBufferBuilder b(256);
    auto reason = b.CreateString(ok ? "" : kTokenRefusedMessage);
    out->emplace_back(FinishPeer(b, peer::CreateAuthResult(b, ok, reason)));
    if (!ok) return Fail(AuthRefused(kTokenRefusedMessage));
    state_ = State::kDone;
    return Status::OK();
  }
  if (role_ == Role::kDialer && state_ == State::kAwaitChallenge) {
    const peer::AuthChallenge* challenge = envelope.message_as_AuthChallenge();
    if (challenge == nullptr) return Fail(ProtocolError("expected AuthChallenge"));
    if (challenge->nonce() == nullptr || challenge->nonce()->size() != kAuthNonceSize) {
      return Fail(ProtocolError("AuthChallenge without a nonce of the right size"));
    }
    their_nonce_ = std::string(Bytes(challenge->nonce()));
    std::string expected = AuthProof(token_, kListenerLabel, my_nonce_, their_nonce_);
    if (!ProofMatches(expected, challenge->proof())) {
      return Fail(AuthRefused(
          "authentication failed: the node does not know our cluster token (a wrong or missing "
          "RAYX_CLUSTER_TOKEN or --token-file on one side)"));
    }
    std::string proof = AuthProof(token_, kDialerLabel, their_nonce_, my_nonce_);
    flatbuffers::FlatBufferBuilder b(96);
    auto p = b.CreateVector(reinterpret_cast<const uint8_t*>(proof.data()), proof.size());
    out->emplace_back(FinishPeer(b, peer::CreateAuthProof(b, p)));
    state_ = State::kAwaitResult;
    return Status::OK();
  }
  if (role_ == Role::kDialer && state_ == State::kAwaitResult) {
    const peer::AuthResult* result = envelope.message_as_AuthResult();
    if (result == nullptr) return Fail(ProtocolError("expected AuthResult"));
    if (!result->ok()) return Fail(AuthRefused(kTokenRefusedMessage));
    state_ = State::kDone;
    return Status::OK();
  }
  return Fail(ProtocolError("authentication message out of order"));
}

}  // namespace rayx
