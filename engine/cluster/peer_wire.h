// Helpers for the frames of peer links (engine/wire/peer.fbs). ParsePeer is the one gate for an
// incoming peer frame: it verifies it before anything reads it.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <map>
#include <string>
#include <string_view>

#include "engine/base/logging.h"
#include "engine/base/status.h"
#include "engine/wire/peer_generated.h"

namespace rayx {

// Peer frames stay small (membership and heartbeats): a larger one is hostile and closes the link.
constexpr uint32_t kMaxPeerFrameSize = 4u << 20;

// Verifies frame; the pointer is valid while frame's bytes are. A frame that fails verification
// or holds no message is a ProtocolError.
StatusOr<const peer::PeerEnvelope*> ParsePeer(std::string_view frame);

template <typename T>
std::string_view FinishPeer(flatbuffers::FlatBufferBuilder& builder,
                            flatbuffers::Offset<T> message) {
  auto envelope =
      peer::CreatePeerEnvelope(builder, peer::PeerMessageTraits<T>::enum_value, message.Union());
  builder.Finish(envelope);
  return std::string_view(reinterpret_cast<const char*>(builder.GetBufferPointer()),
                          builder.GetSize());
}

}  // namespace rayx
