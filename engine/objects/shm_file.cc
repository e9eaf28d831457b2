#include "engine/objects/shm_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

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
  // MAP_POPULATE maps every page now, in one pass, rather than one page fault per page as the
  // object is written (which took more time than the copy itself).
  void* data = mmap(nullptr, mapped_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int mmap_errno = errno;
  close(fd);
  if (data == MAP_FAILED) {
    unlink(path.c_str());
    return ErrnoError("map object file " + path, mmap_errno);
  }
  return MappedRegion(static_cast<uint8_t*>(data), mapped_size);
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
