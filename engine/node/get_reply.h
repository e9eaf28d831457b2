// The GetReply a node sends for a get, kept within the frame limit.
//
// A get may ask for many objects (3,000 inline values of 90 KiB each make 270 MB, past the 256 MiB
// frame limit), so a reply carries a prefix of the requested ids: values in request order while
// their encoded size stays within a byte budget, and always at least one. The client asks again
// (a new GetObjects) for the ids it did not get (protocol.fbs, GetReply). Since an inline value is
// at most kMaxInlineValueSize (engine/wire/values.h), a reply is at most the budget plus one value
// plus a small constant, well under kMaxFrameSize.
//
// Thread-compatible: pure functions.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/base/ids.h"
#include "engine/objects/object_table.h"

namespace rayx {

// The bytes of values one GetReply carries at most, beyond its first value.
inline constexpr size_t kGetReplyBudget = 64u << 20;

// How many of values, from the first, one GetReply carries: those whose encoded sizes
// (StoredValueWireBound) sum to at most budget, and at least one (zero only for no values).
// shm_inline: the shared-memory values will be sent inline (to a driver over TCP, which cannot map
// them; each at most kMaxInlineValueSize): their bytes count too.
size_t GetReplyPrefix(const std::vector<const StoredValue*>& values,
                      size_t budget = kGetReplyBudget, bool shm_inline = false);

// Builds into builder (empty) the GetReply for ids[i] with values[i], i < n, and returns its bytes,
// valid while builder is. REQUIRES: n <= ids.size() == values.size(), values[i] not null for i < n,
// and n at most
// GetReplyPrefix(values) (so that the reply fits a frame); n is 0 when timed_out.
std::string_view BuildGetReply(flatbuffers::FlatBufferBuilder& builder, uint64_t request_id,
                               bool timed_out, const std::vector<ObjectID>& ids,
                               const std::vector<const StoredValue*>& values, size_t n);

}  // namespace rayx
