// The layout of a serialized object, the same inline in a message and in a shared-memory file.
//
//   header:  magic (4 bytes) | buffer count n (4) | data size (8)
//   table:   n times { offset from the start of the object (8), size (8) }
//   data:    the pickle stream
//   buffers: each out-of-band buffer, starting at a multiple of kBufferAlignment
//
// Buffers are aligned so that numpy arrays mapped from shared memory are aligned for any dtype.
// Parsing checks every offset and size against the object's length: a corrupt or hostile object
// yields an error, never a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

constexpr uint32_t kObjectMagic = 0x31585952;  // "RYX1" little-endian.
constexpr size_t kBufferAlignment = 64;

struct ByteSpan {
  const uint8_t* data;
  size_t size;
};

// Where each part goes, computed from the sizes alone.
struct ObjectLayout {
  size_t data_offset = 0;
  std::vector<size_t> buffer_offsets;
  size_t total_size = 0;
};

ObjectLayout ComputeObjectLayout(size_t data_size, const std::vector<size_t>& buffer_sizes);

// Writes the header and the buffer table (the first layout.data_offset bytes) into out.
void WriteObjectHeader(const ObjectLayout& layout, size_t data_size,
                       const std::vector<ByteSpan>& buffers, uint8_t* out);

// Writes header, table, data and buffers into out, which holds layout.total_size bytes.
// Padding bytes are zeroed so that the object's bytes are reproducible.
void WriteObject(const ObjectLayout& layout, ByteSpan data, const std::vector<ByteSpan>& buffers,
                 uint8_t* out);

// Views of the parts of a serialized object; they point into the bytes given to ParseObject.
struct ObjectView {
  ByteSpan data;
  std::vector<ByteSpan> buffers;
};

StatusOr<ObjectView> ParseObject(const uint8_t* object, size_t size);

}  // namespace rayx
