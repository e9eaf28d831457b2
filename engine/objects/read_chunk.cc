#include "engine/objects/read_chunk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rayx {

namespace {

StatusOr<ObjectChunkData> ReadRange(const std::string& path, uint64_t total, uint64_t offset,
                                    uint64_t length) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path, errno);
  ObjectChunkData chunk;
  chunk.total_size = total;
  chunk.data.resize(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        pread(fd, chunk.data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      close(fd);
      if (err != 0) return ErrnoError("read " + path, err);
      return IoError(path + " ends before its object's " + std::to_string(total) + " bytes");
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return chunk;
}

}  // namespace

StatusOr<ObjectChunkData> ReadObjectChunk(ObjectTable& table, const ObjectID& id, uint64_t offset,
                                          uint32_t length, uint32_t max_length) {
  const StoredValue* value = table.Get(id);
  std::string path = table.ReadablePath(id);
  if (value != nullptr && !value->in_shm) {
    return FailedPrecondition("object " + id.Hex() + " is inline on this node");
  }
  if (value == nullptr || path.empty())
    return NotFound("object " + id.Hex() + " is not on this node");
  uint64_t total = value->shm_size;
  if (offset > total) {
    return InvalidArgument("offset " + std::to_string(offset) + " is past the end of object " +
                           id.Hex() + " (" + std::to_string(total) + " bytes)");
  }
  uint64_t n = std::min<uint64_t>({length, max_length, total - offset});
  table.Pin(id);
  StatusOr<ObjectChunkData> chunk = ReadRange(path, total, offset, n);
  table.Unpin(id);
  return chunk;
}

}  // namespace rayx
