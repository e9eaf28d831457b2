// Helpers shared by every reader and writer of protocol.fbs messages.
//
// ParseEnvelope is the one gate for incoming frames: it runs the FlatBuffers verifier before
// anything reads the frame, so a malformed frame is an error for that connection, never a crash.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

// Bumped whenever a message changes incompatibly.
constexpr uint32_t kProtocolVersion = 12;

// The most return values one task may have. A task's returns are made (pending) as it is
// submitted, so a larger count, which only a hostile client sends (the Python API refuses it),
// would hold the node's loop for as many objects: the node closes that connection.
constexpr uint32_t kMaxNumReturns = 1u << 16;

// The most bytes one ObjectChunk answers (ReadObject): pulls of large objects go in chunks of this.
constexpr uint32_t kMaxReadChunk = 4u << 20;

// The most bytes of names and namespaces one NamedActorList carries: a list longer than that is
// refused with an error rather than sent, so that a member's answer stays well within the frame
// limits (and the asker's memory) however many actors are named.
constexpr size_t kMaxNamedActorListBytes = 4u << 20;

// The most entries one ObjectList carries (about 60 bytes each): a larger table is cut, and the
// reply says how many it left out.
constexpr size_t kMaxObjectListEntries = 100000;

// Verifies frame and returns its envelope; the pointer is valid while frame's bytes are.
StatusOr<const wire::Envelope*> ParseEnvelope(std::string_view frame);

// Finishes builder with an envelope around message and returns the bytes to send.
template <typename T>
std::string_view FinishEnvelope(flatbuffers::FlatBufferBuilder& builder,
                                flatbuffers::Offset<T> message) {
  auto envelope =
      wire::CreateEnvelope(builder, wire::MessageTraits<T>::enum_value, message.Union());
  builder.Finish(envelope);
  return std::string_view(reinterpret_cast<const char*>(builder.GetBufferPointer()),
                          builder.GetSize());
}

// Ids travel as one byte vector of concatenated fixed-size ids.
template <typename Id>
flatbuffers::Offset<flatbuffers::Vector<uint8_t>> PackIds(flatbuffers::FlatBufferBuilder& builder,
                                                          const std::vector<Id>& ids) {
  uint8_t* out = nullptr;
  auto offset = builder.CreateUninitializedVector(ids.size() * Id::kSize, &out);
  for (size_t i = 0; i < ids.size(); ++i)
    std::memcpy(out + i * Id::kSize, ids[i].data(), Id::kSize);
  return offset;
}

// Unpacks a concatenated id vector; a length that is not a whole number of ids is an error.
template <typename Id>
StatusOr<std::vector<Id>> UnpackIds(const flatbuffers::Vector<uint8_t>* packed) {
  std::vector<Id> ids;
  if (packed == nullptr) return ids;
  if (packed->size() % Id::kSize != 0) {
    return ProtocolError("id list of " + std::to_string(packed->size()) +
                         " bytes is not whole ids");
  }
  ids.reserve(packed->size() / Id::kSize);
  for (size_t i = 0; i < packed->size(); i += Id::kSize) {
    ids.push_back(Id::FromBinary(
        std::string_view(reinterpret_cast<const char*>(packed->data() + i), Id::kSize)));
  }
  return ids;
}

// One id from a byte vector of exactly its size.
template <typename Id>
StatusOr<Id> UnpackId(const flatbuffers::Vector<uint8_t>* packed) {
  if (packed == nullptr || packed->size() != Id::kSize) return ProtocolError("malformed id");
  return Id::FromBinary(std::string_view(reinterpret_cast<const char*>(packed->data()), Id::kSize));
}

inline std::string_view BytesOf(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

inline std::string StringOf(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

}  // namespace rayx
