#include "engine/objects/object_format.h"

#include <cstring>

namespace rayx {

namespace {

constexpr size_t kHeaderSize = 16;
constexpr size_t kTableEntrySize = 16;
// A bound on the buffer count keeps a hostile header from asking for a huge table.
constexpr uint32_t kMaxBuffers = 1 << 20;

size_t AlignUp(size_t n, size_t alignment) { return (n + alignment - 1) / alignment * alignment; }

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace

ObjectLayout ComputeObjectLayout(size_t data_size, const std::vector<size_t>& buffer_sizes) {
  ObjectLayout layout;
  layout.data_offset = kHeaderSize + kTableEntrySize * buffer_sizes.size();
  size_t end = layout.data_offset + data_size;
  for (size_t size : buffer_sizes) {
    size_t offset = AlignUp(end, kBufferAlignment);
    layout.buffer_offsets.push_back(offset);
    end = offset + size;
  }
  layout.total_size = end;
  return layout;
}

void WriteObjectHeader(const ObjectLayout& layout, size_t data_size,
                       const std::vector<ByteSpan>& buffers, uint8_t* out) {
  Store<uint32_t>(out, kObjectMagic);
  Store<uint32_t>(out + 4, static_cast<uint32_t>(buffers.size()));
  Store<uint64_t>(out + 8, data_size);
  for (size_t i = 0; i < buffers.size(); ++i) {
    Store<uint64_t>(out + kHeaderSize + i * kTableEntrySize, layout.buffer_offsets[i]);
    Store<uint64_t>(out + kHeaderSize + i * kTableEntrySize + 8, buffers[i].size);
  }
}

void WriteObject(const ObjectLayout& layout, ByteSpan data, const std::vector<ByteSpan>& buffers,
                 uint8_t* out) {
  WriteObjectHeader(layout, data.size, buffers, out);
  size_t cursor = layout.data_offset;
  if (data.size > 0) std::memcpy(out + cursor, data.data, data.size);
  cursor += data.size;
  for (size_t i = 0; i < buffers.size(); ++i) {
    size_t offset = layout.buffer_offsets[i];
    std::memset(out + cursor, 0, offset - cursor);
    if (buffers[i].size > 0) std::memcpy(out + offset, buffers[i].data, buffers[i].size);
    cursor = offset + buffers[i].size;
  }
}

StatusOr<ObjectView> ParseObject(const uint8_t* object, size_t size) {
  if (size < kHeaderSize)
    return ProtocolError("object of " + std::to_string(size) + " bytes has no header");
  if (Load<uint32_t>(object) != kObjectMagic) return ProtocolError("object has a bad magic number");
  uint32_t count = Load<uint32_t>(object + 4);
  uint64_t data_size = Load<uint64_t>(object + 8);
  if (count > kMaxBuffers) return ProtocolError("object claims too many buffers");
  size_t data_offset = kHeaderSize + kTableEntrySize * size_t{count};
  if (data_offset > size || data_size > size - data_offset) {
    return ProtocolError("object's data runs past its end");
  }
  ObjectView view;
  view.data = ByteSpan{object + data_offset, data_size};
  view.buffers.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t offset = Load<uint64_t>(object + kHeaderSize + i * kTableEntrySize);
    uint64_t length = Load<uint64_t>(object + kHeaderSize + i * kTableEntrySize + 8);
    if (offset > size || length > size - offset) {
      return ProtocolError("object's buffer " + std::to_string(i) + " runs past its end");
    }
    view.buffers.push_back(ByteSpan{object + offset, length});
  }
  return view;
}

}  // namespace rayx
