// Serving another node's pull: a range of the bytes of an object stored on this node.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/objects/object_table.h"

namespace rayx {

struct ObjectChunkData {
  std::string data;         // The bytes from the offset asked for on.
  uint64_t total_size = 0;  // The whole object's size.
};

// Reads up to min(length, max_length) bytes of id's shared-memory value from offset on: from its
// file in the store, or from its spill file when it is spilled (it is not restored for this).
// Fewer bytes only at the value's end; none at offset == size. NotFound when id's value is not
// stored on this node (unknown, pending, lost, or remote here), FailedPrecondition for an inline
// value (it travels in the messages that name it; its bytes are not an object file),
// InvalidArgument for an offset past the end, IoError when the file cannot be read.
//
// The object is pinned while it is read. The read blocks the calling thread (a pread of at most
// max_length bytes, on the loop: acceptable for chunks of kMaxReadChunk while it stays rare).
// Thread: the table's (the loop).
StatusOr<ObjectChunkData> ReadObjectChunk(ObjectTable& table, const ObjectID& id, uint64_t offset,
                                          uint32_t length, uint32_t max_length);

// The same, read into the space reserve(n) returns for the n bytes (a message being built, so
// that the bytes are copied once); returns the whole object's size. reserve is called only when
// the checks above pass, at most once.
StatusOr<uint64_t> ReadObjectChunkInto(ObjectTable& table, const ObjectID& id, uint64_t offset,
                                       uint32_t length, uint32_t max_length,
                                       const std::function<char*(size_t n)>& reserve);

}  // namespace rayx
