#include "engine/wire/messages.h"

namespace rayx {

StatusOr<const wire::Envelope*> ParseEnvelope(std::string_view frame) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  if (!wire::VerifyEnvelopeBuffer(verifier)) {
    return ProtocolError("frame of " + std::to_string(frame.size()) + " bytes failed verification");
  }
  const wire::Envelope* envelope = wire::GetEnvelope(frame.data());
  if (envelope->message_type() == wire::Message::NONE) return ProtocolError("empty message");
  // The verifier accepts a union whose type is set and whose value is absent; every reader takes
  // message_as_X() for a message of type X to be there.
  if (envelope->message() == nullptr) return ProtocolError("a message type without its message");
  return envelope;
}

}  // namespace rayx
