// Shared-memory object files: each large object is one file in the node's session directory
// (under /dev/shm), written once by its producer, then mapped read-only by any process on the node.
//
// The file's space is reserved before the mapping is written (posix_fallocate), so a full
// /dev/shm is an OutOfMemory error at creation instead of a SIGBUS in the middle of a copy.
// A mapping stays valid after its file is removed; the memory is returned when the last mapping
// goes away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/base/status.h"
#include "engine/objects/object_format.h"

namespace rayx {

// An owned memory mapping; unmapped on destruction. Movable, not copyable. Thread-compatible.
class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(uint8_t* data, size_t size) : data_(data), size_(size) {}
  ~MappedRegion();
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Gives up ownership without unmapping (the caller now owns data()/size()).
  void Release() {
    data_ = nullptr;
    size_ = 0;
  }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Creates path (which must not exist) with size bytes reserved and maps it for writing.
// On failure nothing is left behind.
StatusOr<MappedRegion> CreateObjectFile(const std::string& path, size_t size);

// Creates path (which must not exist) holding the serialized object (object_format.h) made of
// data and buffers, written with pwritev straight from the caller's memory: one copy, and no
// zeroing of the file's pages first as reserving and mapping them would cost (about twice as fast
// on tmpfs). A full file system is OutOfMemory. On failure nothing is left behind.
Status WriteObjectFile(const std::string& path, const ObjectLayout& layout, ByteSpan data,
                       const std::vector<ByteSpan>& buffers);

// Maps an existing object file read-only.
StatusOr<MappedRegion> MapObjectFile(const std::string& path);

// Removes an object file; a missing file is not an error.
Status RemoveObjectFile(const std::string& path);

}  // namespace rayx
