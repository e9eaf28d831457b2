#include "engine/wire/messages.h"

namespace rayx {

StatusOr<const wire::Envelope*> ParseEnvelope(std::string_view frame) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  if (!wire::VerifyEnvelopeBuffer(verifier)) {
    return ProtocolError("frame of " + std::to_string(frame.size()) + " bytes failed verification");
  }
  const wire::Envelope* envelope = wire::GetEnvelope(frame.data());
  if (envelope->message_type() == wire::Message::NONE) return ProtocolError("empty message");
  return envelope;
}

}  // namespace rayx
