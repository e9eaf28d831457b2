#include "engine/node/get_reply.h"

#include "engine/base/logging.h"
#include "engine/node/wire_values.h"
#include "engine/wire/messages.h"

namespace rayx {

size_t GetReplyPrefix(const std::vector<const StoredValue*>& values, size_t budget,
                      bool shm_inline) {
  size_t n = 0;
  size_t bytes = 0;
  for (const StoredValue* value : values) {
    size_t size =
        StoredValueWireBound(*value) + (shm_inline && value->in_shm ? value->shm_size : 0);
    if (n > 0 && bytes + size > budget) break;
    bytes += size;
    ++n;
  }
  return n;
}

std::string_view BuildGetReply(flatbuffers::FlatBufferBuilder& b, uint64_t request_id,
                               bool timed_out, const std::vector<ObjectID>& ids,
                               const std::vector<const StoredValue*>& values, size_t n) {
  RAYX_CHECK(n <= ids.size() && ids.size() == values.size()) << "a GetReply of " << n << " values";
  std::vector<flatbuffers::Offset<wire::ObjectValue>> wire_values;
  wire_values.reserve(n);
  for (size_t i = 0; i < n; ++i) wire_values.push_back(StoredValueToWire(b, ids[i], *values[i]));
  auto reply = wire::CreateGetReply(b, request_id, timed_out, b.CreateVector(wire_values));
  return FinishEnvelope(b, reply);
}

}  // namespace rayx
