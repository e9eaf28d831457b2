#include "engine/objects/shm_file.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

namespace rayx {

MappedRegion::~MappedRegion() {
  if (data_ != nullptr) munmap(data_, size_);
}

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

StatusOr<MappedRegion> CreateObjectFile(const std::string& path, size_t size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create object file " + path, errno);
  size_t mapped_size = size == 0 ? 1 : size;  // mmap refuses a length of zero.
  int err = posix_fallocate(fd, 0, static_cast<off_t>(mapped_size));
  if (err != 0) {
    close(fd);
    unlink(path.c_str());
    if (err == ENOSPC) {
      return OutOfMemory("no room for an object of " + std::to_string(size) + " bytes in " + path);
    }
    return ErrnoError("reserve object file " + path, err);
  }
  // MAP_POPULATE faults every page in at once (the pages exist after fallocate), far cheaper than
  // one fault per page during the copy.
  void* data = mmap(nullptr, mapped_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int mmap_errno = errno;
  close(fd);
  if (data == MAP_FAILED) {
    unlink(path.c_str());
    return ErrnoError("map object file " + path, mmap_errno);
  }
  return MappedRegion(static_cast<uint8_t*>(data), mapped_size);
}

Status WriteObjectFile(const std::string& path, const ObjectLayout& layout, ByteSpan data,
                       const std::vector<ByteSpan>& buffers) {
  static const uint8_t kZeros[kBufferAlignment] = {};
  std::vector<uint8_t> header(layout.data_offset);
  WriteObjectHeader(layout, data.size, buffers, header.data());
  // The pieces in file order: header and table, data, then each buffer after its padding.
  std::vector<iovec> pieces;
  pieces.push_back({header.data(), header.size()});
  pieces.push_back({const_cast<uint8_t*>(data.data), data.size});
  size_t cursor = layout.data_offset + data.size;
  for (size_t i = 0; i < buffers.size(); ++i) {
    pieces.push_back({const_cast<uint8_t*>(kZeros), layout.buffer_offsets[i] - cursor});
    pieces.push_back({const_cast<uint8_t*>(buffers[i].data), buffers[i].size});
    cursor = layout.buffer_offsets[i] + buffers[i].size;
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create object file " + path, errno);
  size_t next = 0;  // The first piece not wholly written.
  off_t offset = 0;
  while (next < pieces.size()) {
    int count = static_cast<int>(std::min<size_t>(pieces.size() - next, IOV_MAX));
    ssize_t written = pwritev(fd, pieces.data() + next, count, offset);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      int e = errno;
      close(fd);
      unlink(path.c_str());
      if (e == ENOSPC) {
        return OutOfMemory("no room for an object of " + std::to_string(layout.total_size) +
                           " bytes in " + path);
      }
      return ErrnoError("write object file " + path, e);
    }
    offset += written;
    // Skip what was written; a piece written in part is advanced in place.
    size_t left = static_cast<size_t>(written);
    while (next < pieces.size() && left >= pieces[next].iov_len) left -= pieces[next++].iov_len;
    if (next < pieces.size()) {
      pieces[next].iov_base = static_cast<uint8_t*>(pieces[next].iov_base) + left;
      pieces[next].iov_len -= left;
    }
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(path.c_str());
    return ErrnoError("close object file " + path, e);
  }
  return Status::OK();
}

StatusOr<MappedRegion> MapObjectFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open object file " + path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError("stat object file " + path, e);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return ProtocolError("object file " + path + " is empty");
  }
  void* data = mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  int mmap_errno = errno;
  close(fd);
  if (data == MAP_FAILED) return ErrnoError("map object file " + path, mmap_errno);
  return MappedRegion(static_cast<uint8_t*>(data), size);
}

Status RemoveObjectFile(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove " + path, errno);
  return Status::OK();
}

}  // namespace rayx
