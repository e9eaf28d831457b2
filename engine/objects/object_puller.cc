#include "engine/objects/object_puller.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "engine/base/logging.h"

namespace rayx {

namespace {

Status WriteError(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) return OutOfMemory(what + ": no space left");
  return ErrnoError(what, err);
}

// Writes all of data at offset.
Status WriteAt(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return WriteError("write " + path, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

struct ObjectPuller::Pull {
  ObjectID id;
  NodeID from;
  uint64_t size = 0;
  std::string path;
  std::string temp;
  int fd = -1;
  uint64_t next_offset = 0;  // The first byte not asked for yet.
  uint64_t received = 0;
  int in_flight = 0;
  bool pumping = false;  // Pump is on the stack (a reader that answers at once calls it again).
  std::function<void(Status)> done;
};

ObjectPuller::ObjectPuller(ChunkReader reader, uint32_t chunk_size)
    : reader_(std::move(reader)), chunk_size_(chunk_size == 0 ? 1 : chunk_size) {}

ObjectPuller::~ObjectPuller() {
  *alive_ = false;
  for (auto& [key, pull] : pulls_) {
    close(pull->fd);
    unlink(pull->temp.c_str());
  }
}

void ObjectPuller::Fetch(const ObjectID& id, const NodeID& from, uint64_t size,
                         const std::string& path, std::function<void(Status)> done) {
  std::string temp = path + ".pull";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    done(ErrnoError("create " + temp, errno));
    return;
  }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    Status status = WriteError("size " + temp, errno);
    close(fd);
    unlink(temp.c_str());
    done(status);
    return;
  }
  auto pull = std::make_unique<Pull>();
  pull->id = id;
  pull->from = from;
  pull->size = size;
  pull->path = path;
  pull->temp = std::move(temp);
  pull->fd = fd;
  pull->done = std::move(done);
  uint64_t key = next_key_++;
  pulls_.emplace(key, std::move(pull));
  Pump(key);
}

void ObjectPuller::Pump(uint64_t key) {
  auto it = pulls_.find(key);
  if (it == pulls_.end() || it->second->pumping) return;
  it->second->pumping = true;
  while (true) {
    // Looked up again each time: a read that answers at once may have ended the pull.
    it = pulls_.find(key);
    if (it == pulls_.end()) return;
    Pull* pull = it->second.get();
    if (pull->received == pull->size && pull->in_flight == 0) {
      Finish(key, Status::OK());
      return;
    }
    if (pull->in_flight >= kMaxInFlight || pull->next_offset >= pull->size) {
      pull->pumping = false;
      return;
    }
    uint64_t offset = pull->next_offset;
    uint32_t length = static_cast<uint32_t>(std::min<uint64_t>(chunk_size_, pull->size - offset));
    pull->next_offset += length;
    pull->in_flight++;
    std::shared_ptr<bool> alive = alive_;
    reader_(pull->from, pull->id, offset, length,
            [this, alive, key, offset, length](StatusOr<std::string_view> data) {
              if (*alive) OnChunk(key, offset, length, std::move(data));
            });
  }
}

void ObjectPuller::OnChunk(uint64_t key, uint64_t offset, uint32_t length,
                           StatusOr<std::string_view> data) {
  auto it = pulls_.find(key);
  if (it == pulls_.end()) return;  // Ended already (another chunk failed).
  Pull* pull = it->second.get();
  pull->in_flight--;
  if (!data.ok()) {
    Finish(key, data.status());
    return;
  }
  if (data->size() != length) {
    Finish(key, IoError("the chunk at " + std::to_string(offset) + " has " +
                        std::to_string(data->size()) + " bytes, not " + std::to_string(length)));
    return;
  }
  Status written = WriteAt(pull->fd, *data, offset, pull->temp);
  if (!written.ok()) {
    Finish(key, written);
    return;
  }
  pull->received += length;
  Pump(key);
}

void ObjectPuller::Finish(uint64_t key, Status status) {
  auto it = pulls_.find(key);
  std::unique_ptr<Pull> pull = std::move(it->second);
  pulls_.erase(it);
  if (close(pull->fd) != 0 && status.ok()) status = WriteError("close " + pull->temp, errno);
  if (status.ok() && std::rename(pull->temp.c_str(), pull->path.c_str()) != 0) {
    status = ErrnoError("rename " + pull->temp, errno);
  }
  if (!status.ok()) {
    unlink(pull->temp.c_str());
    status =
        status.WithContext("pulling object " + pull->id.Hex() + " from node " + pull->from.Hex());
    RAYX_LOG(Debug) << status;
  }
  pull->done(status);
}

}  // namespace rayx
