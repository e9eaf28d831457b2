#include "engine/objects/read_chunk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rayx {

namespace {

Status ReadRange(const std::string& path, uint64_t total, uint64_t offset, uint64_t length,
                 char* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path, errno);
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
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
  return Status::OK();
}

}  // namespace

StatusOr<ObjectChunkData> ReadObjectChunk(ObjectTable& table, const ObjectID& id, uint64_t offset,
                                          uint32_t length, uint32_t max_length) {
  ObjectChunkData chunk;
  StatusOr<uint64_t> total =
      ReadObjectChunkInto(table, id, offset, length, max_length, [&chunk](size_t n) {
        chunk.data.resize(n);
        return chunk.data.data();
      });
  if (!total.ok()) return total.status();
  chunk.total_size = *total;
  return chunk;
}

StatusOr<uint64_t> ReadObjectChunkInto(ObjectTable& table, const ObjectID& id, uint64_t offset,
                                       uint32_t length, uint32_t max_length,
                                       const std::function<char*(size_t n)>& reserve) {
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
  char* out = reserve(n);
  table.Pin(id);
  Status read = ReadRange(path, total, offset, n, out);
  table.Unpin(id);
  if (!read.ok()) return read;
  return total;
}

}  // namespace rayx
