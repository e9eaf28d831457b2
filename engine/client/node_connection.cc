#include "engine/client/node_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "engine/base/logging.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

uint64_t RequestIdOf(const wire::Envelope* envelope) {
  switch (envelope->message_type()) {
    case wire::Message::GetReply: return envelope->message_as_GetReply()->request_id();
    case wire::Message::WaitReply: return envelope->message_as_WaitReply()->request_id();
    case wire::Message::InfoReply: return envelope->message_as_InfoReply()->request_id();
    case wire::Message::ActorReply: return envelope->message_as_ActorReply()->request_id();
    case wire::Message::PutReply: return envelope->message_as_PutReply()->request_id();
    case wire::Message::ObjectStoreStatsReply:
      return envelope->message_as_ObjectStoreStatsReply()->request_id();
    default: return 0;
  }
}

}  // namespace

StatusOr<std::unique_ptr<NodeConnection>> NodeConnection::Connect(const std::string& socket_path,
                                                                  wire::Role role,
                                                                  const WorkerID& worker_id) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("socket path too long: " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError("connect to the node at " + socket_path, e);
  }
  std::unique_ptr<NodeConnection> conn(new NodeConnection());
  conn->fd_ = fd;
  conn->welcome_.worker_id = worker_id;

  flatbuffers::FlatBufferBuilder b(128);
  auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
  auto hello = wire::CreateHello(b, kProtocolVersion, role, id, getpid());
  RAYX_RETURN_IF_ERROR(conn->Send(FinishEnvelope(b, hello)));
  std::unique_lock<std::mutex> lock(conn->mu_);
  conn->WaitFor(lock, [&] { return conn->welcomed_; });
  if (!conn->welcomed_) return Unavailable("the node at " + socket_path + " closed the connection");
  lock.unlock();
  return conn;
}

NodeConnection::~NodeConnection() {
  Close();
  // No thread may still be inside a call here (the owner destroys the connection last), so no
  // thread is reading either.
  if (fd_ >= 0) close(fd_);
}

Status NodeConnection::Send(std::string_view envelope) { return Send(envelope, std::string_view()); }

Status NodeConnection::Send(std::string_view first, std::string_view second) {
  // Little-endian headers on every platform rayx runs on.
  char headers[2][kFrameHeaderSize];
  uint32_t sizes[2] = {static_cast<uint32_t>(first.size()), static_cast<uint32_t>(second.size())};
  std::memcpy(headers[0], &sizes[0], sizeof(uint32_t));
  std::memcpy(headers[1], &sizes[1], sizeof(uint32_t));
  iovec parts[4] = {{headers[0], kFrameHeaderSize},
                    {const_cast<char*>(first.data()), first.size()},
                    {headers[1], kFrameHeaderSize},
                    {const_cast<char*>(second.data()), second.size()}};
  int count = second.empty() ? 2 : 4;
  std::lock_guard<std::mutex> lock(write_mu_);
  iovec* next = parts;
  while (count > 0) {
    msghdr msg = {};
    msg.msg_iov = next;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write to the node", errno);
    }
    // A short write: skip what went, send the rest in order, still under the lock.
    size_t done = static_cast<size_t>(n);
    while (count > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
  return Status::OK();
}

uint64_t NodeConnection::NextRequestId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_request_id_++;
}

StatusOr<std::string> NodeConnection::Call(uint64_t request_id, std::string_view envelope) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Unavailable("the connection to the node is closed");
    replies_.emplace(request_id, std::nullopt);
  }
  Status sent = Send(envelope);
  std::unique_lock<std::mutex> lock(mu_);
  if (!sent.ok()) {
    replies_.erase(request_id);
    return sent;
  }
  bool interrupted = WaitFor(lock, [&] { return replies_[request_id].has_value(); });
  auto it = replies_.find(request_id);
  if (interrupted) {
    replies_.erase(it);
    return Cancelled("interrupted while waiting for the node");
  }
  std::optional<std::string> reply = std::move(it->second);
  replies_.erase(it);
  if (!reply.has_value()) return Unavailable("the connection to the node was lost");
  return std::move(*reply);
}

std::optional<std::string> NodeConnection::NextTask(bool* interrupted) {
  std::unique_lock<std::mutex> lock(mu_);
  bool gave_up = WaitFor(lock, [&] { return !tasks_.empty(); });
  if (interrupted != nullptr) *interrupted = gave_up;
  if (gave_up || tasks_.empty()) return std::nullopt;
  std::string task = std::move(tasks_.front());
  tasks_.pop_front();
  return task;
}

void NodeConnection::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_ && fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  closed_ = true;
  cv_.notify_all();
}

template <typename Done>
bool NodeConnection::WaitFor(std::unique_lock<std::mutex>& lock, Done done) {
  constexpr auto kCheckEvery = std::chrono::milliseconds(100);
  auto next_check = std::chrono::steady_clock::now() + kCheckEvery;
  while (!done() && !closed_) {
    if (reading_) {
      cv_.wait_for(lock, kCheckEvery);
    } else {
      reading_ = true;
      lock.unlock();
      ReadOnce(static_cast<int>(kCheckEvery.count()));
      lock.lock();
      reading_ = false;
      // Whoever waits for something else may now take over the reading, or has its answer.
      cv_.notify_all();
    }
    if (interrupt_check_ && !done() && std::chrono::steady_clock::now() >= next_check) {
      lock.unlock();
      bool give_up = interrupt_check_();
      lock.lock();
      if (give_up) return true;
      next_check = std::chrono::steady_clock::now() + kCheckEvery;
    }
  }
  return false;
}

void NodeConnection::ReadOnce(int timeout_ms) {
  pollfd readable = {fd_, POLLIN, 0};
  int ready = poll(&readable, 1, timeout_ms);
  if (ready == 0 || (ready < 0 && errno == EINTR)) return;  // Nothing yet: the caller checks in.
  ssize_t n;
  do {
    n = read(fd_, read_buffer_.data(), read_buffer_.size());
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    Close();
    return;
  }
  Status s = decoder_.Feed(read_buffer_.data(), static_cast<size_t>(n),
                           [this](std::string_view frame) { Route(std::string(frame)); });
  if (!s.ok()) {
    RAYX_LOG(Error) << "bad frame from the node: " << s;
    Close();
  }
}

void NodeConnection::Route(std::string frame) {
  auto envelope = ParseEnvelope(frame);
  if (!envelope.ok()) {
    RAYX_LOG(Error) << "dropping a message from the node: " << envelope.status();
    return;
  }
  const wire::Envelope* e = *envelope;
  std::lock_guard<std::mutex> lock(mu_);
  if (e->message_type() == wire::Message::Welcome) {
    const wire::Welcome* w = e->message_as_Welcome();
    auto node_id = UnpackId<NodeID>(w->node_id());
    auto job_id = UnpackId<JobID>(w->job_id());
    auto worker_id = UnpackId<WorkerID>(w->worker_id());
    if (node_id.ok() && job_id.ok() && worker_id.ok()) {
      welcome_.node_id = *node_id;
      welcome_.job_id = *job_id;
      welcome_.worker_id = *worker_id;
      welcome_.session_dir = StringOf(w->session_dir());
      welcomed_ = true;
    }
  } else if (e->message_type() == wire::Message::ExecuteTask) {
    tasks_.push_back(std::move(frame));
  } else if (uint64_t id = RequestIdOf(e); id != 0) {
    auto it = replies_.find(id);
    if (it != replies_.end()) it->second = std::move(frame);
  } else {
    RAYX_LOG(Warning) << "unexpected message from the node, type "
                      << static_cast<int>(e->message_type());
  }
  cv_.notify_all();
}

}  // namespace rayx
