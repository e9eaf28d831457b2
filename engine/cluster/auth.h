// Authenticator: the mutual challenge and response that opens every TCP link of a cluster, as a
// state machine over PeerEnvelopes (no I/O; PeerLink drives it over a connection).
//
// Each side proves that it knows the cluster token by an HMAC-SHA256, keyed with the token, over
// both sides' fresh random nonces (see engine/wire/peer.fbs for the exchange). The token never
// crosses the wire, proofs are compared in constant time (CRYPTO_memcmp), and a proof is bound to
// its direction by a label, so a listener's proof cannot be replayed as a dialer's. An empty token
// is a key like any other: two sides without a token authenticate each other (loopback only, see
// token.h); a side with a token and one without do not.
//
// Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/wire/peer_generated.h"

namespace rayx {

constexpr uint32_t kPeerProtocolVersion = 1;

// A refused authentication (FailedPrecondition: the link cannot go on, retrying will not help).
inline Status AuthRefused(std::string message) { return FailedPrecondition(std::move(message)); }
constexpr size_t kAuthNonceSize = 32;

// HMAC-SHA256(key, label || a || b).
std::string AuthProof(std::string_view key, std::string_view label, std::string_view a,
                      std::string_view b);

class Authenticator {
 public:
  enum class Role { kDialer, kListener };
  enum class State { kStart, kAwaitChallenge, kAwaitProof, kAwaitResult, kDone, kFailed };

  // token is copied and never logged. purpose is what a dialer asks for; a listener learns it.
  Authenticator(Role role, std::string token, peer::LinkPurpose purpose = peer::LinkPurpose::Peer);

  // Dialer only, first: the AuthHello frame to send.
  std::string Begin();

  // Feeds one verified envelope. Appends frames to send to *out (also on failure: a listener
  // tells the dialer why before closing). Returns an error that names the token when the other
  // side's proof is wrong or it refused ours, and ProtocolError for a message out of order.
  Status OnMessage(const peer::PeerEnvelope& envelope, std::vector<std::string>* out);

  State state() const { return state_; }
  bool done() const { return state_ == State::kDone; }
  peer::LinkPurpose purpose() const { return purpose_; }

 private:
  Status Fail(Status why);

  Role role_;
  std::string token_;
  peer::LinkPurpose purpose_;
  State state_ = State::kStart;
  std::string my_nonce_;
  std::string their_nonce_;
};

// The message a refused side reports: it says that the cluster token is wrong or missing.
extern const char kTokenRefusedMessage[];

}  // namespace rayx
