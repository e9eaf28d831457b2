#include "engine/client/fake_node.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "engine/base/ids.h"
#include "engine/wire/messages.h"

namespace rayx {

FakeNode::~FakeNode() {
  if (thread_.joinable()) {
    char stop = 0;
    (void)!write(stop_pipe_[1], &stop, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
    if (fd >= 0) close(fd);
  }
  for (auto& client : clients_) close(client->fd);
  if (dir_.empty()) return;
  unlink(socket_path_.c_str());
  rmdir((dir_ + "/workers").c_str());  // Empty once every worker's connection is gone.
  rmdir(dir_.c_str());
}

Status FakeNode::Start() {
  char dir[] = "/tmp/rayx-nctest-XXXXXX";
  if (mkdtemp(dir) == nullptr) return ErrnoError("mkdtemp", errno);
  dir_ = dir;
  socket_path_ = dir_ + "/node.sock";
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return ErrnoError("socket", errno);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 16) != 0) {
    return ErrnoError("listen at " + socket_path_, errno);
  }
  thread_ = std::thread([this] { Serve(); });
  return Status::OK();
}

void FakeNode::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    auto client = std::make_unique<Client>();
    client->fd = fd;
    Welcome(std::move(client));
  }
}

void FakeNode::Welcome(std::unique_ptr<Client> client) {
  std::optional<std::string> frame = ReadFrame(client.get(), 5000);
  auto envelope = frame ? ParseEnvelope(*frame) : StatusOr<const wire::Envelope*>(Unavailable(""));
  const wire::Hello* hello = envelope.ok() ? (*envelope)->message_as_Hello() : nullptr;
  if (hello == nullptr || hello->protocol_version() != kProtocolVersion) {
    close(client->fd);  // As the node does with a client that does not say Hello first.
    return;
  }
  client->role = hello->role();
  auto worker_id = UnpackId<WorkerID>(hello->worker_id());
  flatbuffers::FlatBufferBuilder b(128);
  NodeID node_id = NodeID::FromRandom();
  JobID job_id = JobID::FromInt(1);
  WorkerID client_id = worker_id.ok() ? *worker_id : WorkerID::FromRandom();
  auto node = b.CreateVector(node_id.data(), NodeID::kSize);
  auto job = b.CreateVector(job_id.data(), JobID::kSize);
  auto worker = b.CreateVector(client_id.data(), WorkerID::kSize);
  auto dir = b.CreateString(dir_);
  std::string frames;
  AppendFrame(&frames, FinishEnvelope(b, wire::CreateWelcome(b, node, job, worker, dir)));
  if (!after_welcome_.empty()) AppendFrame(&frames, after_welcome_);
  if (!SendBytes(client->fd, frames).ok()) {
    close(client->fd);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  clients_.push_back(std::move(client));
  cv_.notify_all();
}

FakeNode::Client* FakeNode::WaitForClient(size_t i) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return clients_.size() > i; })) {
    return nullptr;
  }
  return clients_[i].get();
}

std::optional<std::string> FakeNode::ReadFrame(Client* client, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buffer[64 * 1024];
  while (client->frames.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fds = {client->fd, POLLIN, 0};
    int ready = poll(&fds, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    ssize_t n = read(client->fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    Status fed = client->decoder.Feed(buffer, static_cast<size_t>(n), [&](std::string_view frame) {
      client->frames.emplace_back(frame);
    });
    if (!fed.ok()) return std::nullopt;
  }
  std::string frame = std::move(client->frames.front());
  client->frames.pop_front();
  return frame;
}

Status FakeNode::SendBytes(int fd, std::string_view bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("send to a client", errno);
    sent += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status FakeNode::SendFrame(Client* client, std::string_view envelope) {
  std::string frame;
  AppendFrame(&frame, envelope);
  return SendBytes(client->fd, frame);
}

void FakeNode::Disconnect(Client* client) { shutdown(client->fd, SHUT_RDWR); }

FakeWorker::~FakeWorker() {
  for (auto& link : links_) close(link->fd);
  if (listen_fd_ < 0) return;
  close(listen_fd_);
  unlink(path_.c_str());
}

Status FakeWorker::Listen(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && mkdir(path.substr(0, slash).c_str(), 0700) != 0 &&
      errno != EEXIST) {
    return ErrnoError("mkdir for " + path, errno);
  }
  sockaddr_un addr = {};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long");
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return ErrnoError("socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 16) != 0) {
    return ErrnoError("listen at " + path, errno);
  }
  path_ = path;
  return Status::OK();
}

FakeNode::Client* FakeWorker::Accept(int timeout_ms) {
  pollfd fds = {listen_fd_, POLLIN, 0};
  if (poll(&fds, 1, timeout_ms) != 1) return nullptr;
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return nullptr;
  auto link = std::make_unique<FakeNode::Client>();
  link->fd = fd;
  FakeNode::Client* raw = link.get();
  links_.push_back(std::move(link));
  std::optional<std::string> hello = FakeNode::ReadFrame(raw, timeout_ms);
  if (MessageType(hello) != wire::Message::Hello) return nullptr;
  return raw;
}

wire::Message MessageType(const std::optional<std::string>& frame) {
  if (!frame.has_value()) return wire::Message::NONE;
  auto envelope = ParseEnvelope(*frame);
  return envelope.ok() ? (*envelope)->message_type() : wire::Message::NONE;
}

}  // namespace rayx
