#include "engine/objects/spill_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "engine/objects/shm_file.h"

namespace rayx {

namespace {

Status FileError(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) return OutOfMemory(what + ": no space left");
  return ErrnoError(what, err);
}

}  // namespace

Status SpillObjectFile(const std::string& src, const std::string& dst) {
  RAYX_ASSIGN_OR_RETURN(MappedRegion region, MapObjectFile(src));
  int fd = open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileError("create spill file " + dst, errno);
  // Reserving the whole size first turns a full disk into one clean error up front.
  int err = posix_fallocate(fd, 0, static_cast<off_t>(region.size()));
  size_t done = 0;
  while (err == 0 && done < region.size()) {
    ssize_t n = write(fd, region.data() + done, region.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err == 0 && fdatasync(fd) != 0) err = errno;
  close(fd);
  if (err != 0) {
    unlink(dst.c_str());
    return FileError("write spill file " + dst, err);
  }
  return Status::OK();
}

Status RestoreObjectFile(const std::string& src, const std::string& dst) {
  int fd = open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open spill file " + src, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) {
    int e = errno;
    close(fd);
    return e != 0 ? ErrnoError("stat spill file " + src, e)
                  : IoError("spill file " + src + " is empty");
  }
  size_t size = static_cast<size_t>(st.st_size);
  auto region = CreateObjectFile(dst, size);
  if (!region.ok()) {
    close(fd);
    return region.status();
  }
  size_t done = 0;
  int err = 0;
  while (done < size) {
    ssize_t n = read(fd, region->data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (err != 0) {
    unlink(dst.c_str());
    return ErrnoError("read spill file " + src, err);
  }
  return Status::OK();
}

}  // namespace rayx
