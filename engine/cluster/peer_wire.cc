#include "engine/cluster/peer_wire.h"

namespace rayx {

StatusOr<const peer::PeerEnvelope*> ParsePeer(std::string_view frame) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(),
                                 /*max_depth=*/16, /*max_tables=*/100000);
  if (!peer::VerifyPeerEnvelopeBuffer(verifier)) {
    return ProtocolError("a peer frame of " + std::to_string(frame.size()) +
                         " bytes failed verification");
  }
  const peer::PeerEnvelope* envelope = peer::GetPeerEnvelope(frame.data());
  if (envelope->message_type() == peer::PeerMessage::NONE) {
    return ProtocolError("a peer frame without a message");
  }
  // The verifier accepts a union whose type is set and whose value is absent (see ParseEnvelope).
  if (envelope->message() == nullptr)
    return ProtocolError("a peer message type without its message");
  return envelope;
}

}  // namespace rayx
