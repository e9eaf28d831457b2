#include "engine/client/node_connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/base/logging.h"
#include "engine/cluster/blocking_dial.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

uint64_t RequestIdOf(const wire::Envelope* envelope) {
  switch (envelope->message_type()) {
    case wire::Message::GetReply:
      return envelope->message_as_GetReply()->request_id();
    case wire::Message::WaitReply:
      return envelope->message_as_WaitReply()->request_id();
    case wire::Message::InfoReply:
      return envelope->message_as_InfoReply()->request_id();
    case wire::Message::ActorReply:
      return envelope->message_as_ActorReply()->request_id();
    case wire::Message::PutReply:
      return envelope->message_as_PutReply()->request_id();
    case wire::Message::ObjectStoreStatsReply:
      return envelope->message_as_ObjectStoreStatsReply()->request_id();
    case wire::Message::ObjectList:
      return envelope->message_as_ObjectList()->request_id();
    case wire::Message::FreeObjectsReply:
      return envelope->message_as_FreeObjectsReply()->request_id();
    case wire::Message::DropObjectCopiesReply:
      return envelope->message_as_DropObjectCopiesReply()->request_id();
    case wire::Message::CancelReply:
      return envelope->message_as_CancelReply()->request_id();
    case wire::Message::PlacementGroupReply:
      return envelope->message_as_PlacementGroupReply()->request_id();
    case wire::Message::NamedActorList:
      return envelope->message_as_NamedActorList()->request_id();
    default:
      return 0;
  }
}

// Writes parts in order with one system call (more only on a short write), under mu.
Status WriteParts(int fd, std::mutex& mu, iovec* parts, int count, const char* what) {
  std::lock_guard<std::mutex> lock(mu);
  iovec* next = parts;
  while (count > 0) {
    msghdr msg = {};
    msg.msg_iov = next;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(what, errno);
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

// Writes one or two frames with one system call (more only on a short write), under mu.
Status WriteFrames(int fd, std::mutex& mu, std::string_view first, std::string_view second,
                   const char* what) {
  // Little-endian headers on every platform rayx runs on.
  char headers[2][kFrameHeaderSize];
  uint32_t sizes[2] = {static_cast<uint32_t>(first.size()), static_cast<uint32_t>(second.size())};
  std::memcpy(headers[0], &sizes[0], sizeof(uint32_t));
  std::memcpy(headers[1], &sizes[1], sizeof(uint32_t));
  iovec parts[4] = {{headers[0], kFrameHeaderSize},
                    {const_cast<char*>(first.data()), first.size()},
                    {headers[1], kFrameHeaderSize},
                    {const_cast<char*>(second.data()), second.size()}};
  return WriteParts(fd, mu, parts, second.empty() ? 2 : 4, what);
}

StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A connected stream socket, or the error of socket()/connect().
StatusOr<int> ConnectUnix(const std::string& path, const std::string& what) {
  RAYX_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError("connect to " + what + " at " + path, e);
  }
  return fd;
}

std::string HelloFrame(wire::Role role, const WorkerID& worker_id) {
  flatbuffers::FlatBufferBuilder b(128);
  auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
  auto hello = wire::CreateHello(b, kProtocolVersion, role, id, getpid());
  return std::string(FinishEnvelope(b, hello));
}

}  // namespace

NodeConnection::Link::~Link() {
  if (fd >= 0) close(fd);
}

StatusOr<std::unique_ptr<NodeConnection>> NodeConnection::Connect(const std::string& socket_path,
                                                                  wire::Role role,
                                                                  const WorkerID& worker_id) {
  std::unique_ptr<NodeConnection> conn(new NodeConnection());
  if (role == wire::Role::Worker) {
    // A worker that cannot listen still runs the node's tasks; owners then use the node's path.
    Status listening = conn->Listen(DirectSocketPath(socket_path, worker_id));
    if (!listening.ok())
      RAYX_LOG(Warning) << "no direct task submission to this worker: " << listening;
  }
  RAYX_ASSIGN_OR_RETURN(int fd, ConnectUnix(socket_path, "the node"));
  conn->fd_ = fd;
  RAYX_RETURN_IF_ERROR(conn->Greet(role, worker_id, socket_path));
  return conn;
}

StatusOr<std::unique_ptr<NodeConnection>> NodeConnection::ConnectOverTcp(
    const std::string& host_port, const std::string& token) {
  StatusOr<int> fd = DialAuthenticated(host_port, token, peer::LinkPurpose::Driver);
  if (!fd.ok()) {
    return Status(fd.status().code(),
                  "cannot attach over TCP to " + host_port + ": " + fd.status().message());
  }
  std::unique_ptr<NodeConnection> conn(new NodeConnection());
  conn->fd_ = *fd;
  conn->remote_ = true;
  RAYX_RETURN_IF_ERROR(conn->Greet(wire::Role::Driver, WorkerID(), host_port));
  return conn;
}

Status NodeConnection::Greet(wire::Role role, const WorkerID& worker_id, const std::string& where) {
  // A worker waits for answers too (a task's get), but beside other workers, which the spinning
  // would take CPU time from (multi_client_tasks_async ran 10% slower with workers spinning).
  if (role != wire::Role::Worker) spin_wait_ = SpinWaitFromEnvironment();
  welcome_.worker_id = worker_id;
  RAYX_RETURN_IF_ERROR(Send(HelloFrame(role, worker_id)));
  std::unique_lock<std::mutex> lock(mu_);
  WaitFor(
      lock, [&] { return welcomed_; }, /*spin=*/false);
  if (!welcomed_) return Unavailable("the node at " + where + " closed the connection");
  return Status::OK();
}

NodeConnection::~NodeConnection() {
  Close();
  // No thread may still be inside a call here (the owner destroys the connection last), so no
  // thread is reading either.
  if (fd_ >= 0) close(fd_);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(listen_path_.c_str());
  }
}

Status NodeConnection::Send(std::string_view envelope) {
  return Send(envelope, std::string_view());
}

Status NodeConnection::Send(std::string_view first, std::string_view second) {
  return WriteFrames(fd_, write_mu_, first, second, "write to the node");
}

Status NodeConnection::SendFramed(std::string_view frames, std::string_view envelope) {
  if (frames.empty() && envelope.empty()) return Status::OK();
  char header[kFrameHeaderSize];
  uint32_t size = static_cast<uint32_t>(envelope.size());
  std::memcpy(header, &size, sizeof(uint32_t));
  iovec parts[3] = {{const_cast<char*>(frames.data()), frames.size()},
                    {header, kFrameHeaderSize},
                    {const_cast<char*>(envelope.data()), envelope.size()}};
  int skip = frames.empty() ? 1 : 0;
  int count = envelope.empty() ? 1 : 3 - skip;  // An empty envelope: the frames alone.
  return WriteParts(fd_, write_mu_, parts + skip, count, "write to the node");
}

void NodeConnection::Poll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reading_ || closed_) return;
    reading_ = true;
  }
  ReadOnce(0);
  std::lock_guard<std::mutex> lock(mu_);
  reading_ = false;
  last_read_ = std::chrono::steady_clock::now();
  cv_.notify_all();
}

void NodeConnection::Drain() {
  for (int i = 0; i < kMaxDrainReads && ReadOnce(0); ++i) {
  }
}

void NodeConnection::ReadArrived(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  drain_waiters_++;  // WaitFor leaves the next turn to this thread.
  bool turn = cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return !reading_ || closed_; });
  drain_waiters_--;
  if (!turn || closed_) {
    cv_.notify_all();
    return;
  }
  ReadAsReader(lock);
}

void NodeConnection::ReadAsReader(std::unique_lock<std::mutex>& lock) {
  reading_ = true;
  lock.unlock();
  Drain();
  lock.lock();
  reading_ = false;
  last_read_ = std::chrono::steady_clock::now();
  cv_.notify_all();
}

bool NodeConnection::HasQueuedTask() {
  std::lock_guard<std::mutex> lock(mu_);
  return !tasks_.empty();
}

void NodeConnection::QueueForNextTask(std::string frame) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(QueuedTask{0, std::move(frame)});
  cv_.notify_all();
}

Status NodeConnection::Listen(const std::string& path) {
  RAYX_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && mkdir(path.substr(0, slash).c_str(), 0700) != 0 &&
      errno != EEXIST) {
    int e = errno;
    close(fd);
    return ErrnoError("mkdir for " + path, e);
  }
  unlink(path.c_str());  // Left by a dead worker of the same id (ids are random: unlikely).
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError("listen at " + path, e);
  }
  listen_fd_ = fd;
  listen_path_ = path;
  std::lock_guard<std::mutex> lock(mu_);
  listening_ = true;
  return Status::OK();
}

void NodeConnection::StopListening() {
  std::vector<uint64_t> accepted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The reader may be polling the listening socket now: it is shut down, not closed, so that its
    // fd is not reused under the reader; the destructor closes it.
    if (listening_) {
      listening_ = false;
      shutdown(listen_fd_, SHUT_RDWR);
      unlink(listen_path_.c_str());
      listen_path_.clear();
    }
    for (const auto& [id, link] : links_) {
      if (link->accepted) accepted.push_back(id);
    }
  }
  for (uint64_t id : accepted) DropLink(id, /*report=*/false);
}

StatusOr<uint64_t> NodeConnection::OpenLink(const std::string& path, wire::Role role,
                                            const WorkerID& worker_id) {
  RAYX_ASSIGN_OR_RETURN(int fd, ConnectUnix(path, "a worker"));
  auto link = std::make_shared<Link>();
  link->fd = fd;
  RAYX_RETURN_IF_ERROR(WriteFrames(fd, link->write_mu, HelloFrame(role, worker_id),
                                   std::string_view(), "write to a worker"));
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_link_++;
  links_.emplace(id, std::move(link));
  return id;
}

Status NodeConnection::SendOnLink(uint64_t id, std::string_view envelope) {
  std::shared_ptr<Link> link;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = links_.find(id);
    if (it == links_.end()) return Unavailable("the direct link is closed");
    link = it->second;
  }
  Status sent =
      WriteFrames(link->fd, link->write_mu, envelope, std::string_view(), "write to a direct link");
  // A write fails when the other end has gone: the link is closed, though no reader saw it yet.
  if (!sent.ok()) return Unavailable("the direct link is closed: " + sent.message());
  return Status::OK();
}

void NodeConnection::CloseLink(uint64_t id) { DropLink(id, /*report=*/false); }

void NodeConnection::DropLink(uint64_t id, bool report) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = links_.find(id);
    if (it == links_.end()) return;
    // Shut down, not closed: a sender may still hold the link; the fd closes with the last holder.
    shutdown(it->second->fd, SHUT_RDWR);
    links_.erase(it);
  }
  if (report) CallHandler(id, std::string());
}

void NodeConnection::SetFrameHandler(FrameHandler handler) {
  frame_handler_ = std::move(handler);
  std::vector<std::pair<uint64_t, std::string>> early;
  {
    std::lock_guard<std::mutex> lock(mu_);
    early.swap(early_frames_);
  }
  for (auto& [link, frame] : early) frame_handler_(link, std::move(frame));
}

void NodeConnection::CallHandler(uint64_t link, std::string frame) {
  if (frame_handler_) {
    frame_handler_(link, std::move(frame));
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    early_frames_.emplace_back(link, std::move(frame));
  }
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

bool NodeConnection::WaitUntil(const std::function<bool()>& done, int64_t timeout_ms,
                               bool* interrupted) {
  auto deadline = timeout_ms < 0
                      ? std::chrono::steady_clock::time_point::max()
                      : std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  bool gave_up = WaitFor(
      lock, [&] { return done() || std::chrono::steady_clock::now() >= deadline; },
      /*spin=*/true, deadline);
  if (interrupted != nullptr) *interrupted = gave_up;
  return !gave_up && done();
}

uint64_t NodeConnection::NextRequestId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_request_id_++;
}

StatusOr<std::string> NodeConnection::Call(uint64_t request_id, std::string_view envelope) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Unavailable(LostMessage());
    replies_.emplace(request_id, std::nullopt);
  }
  Status sent = Send(envelope);
  std::unique_lock<std::mutex> lock(mu_);
  if (!sent.ok()) {
    replies_.erase(request_id);
    return sent;
  }
  bool interrupted = WaitFor(
      lock, [&] { return replies_[request_id].has_value(); }, /*spin=*/true);
  auto it = replies_.find(request_id);
  if (interrupted) {
    replies_.erase(it);
    return Cancelled("interrupted while waiting for the node");
  }
  std::optional<std::string> reply = std::move(it->second);
  replies_.erase(it);
  if (!reply.has_value()) return Unavailable(LostMessage());
  return std::move(*reply);
}

std::optional<std::string> NodeConnection::NextTask(bool* interrupted, uint64_t* link) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!tasks_.empty() && !reading_ && !closed_ &&
      std::chrono::steady_clock::now() - last_read_ >= kStaleRead) {
    // Read long ago (the worker ran the call before): what came since goes first, a CancelTask
    // for this very task among it.
    ReadAsReader(lock);
  }
  bool gave_up = WaitFor(
      lock, [&] { return !tasks_.empty(); }, /*spin=*/false);
  if (interrupted != nullptr) *interrupted = gave_up;
  if (gave_up || tasks_.empty()) return std::nullopt;
  QueuedTask task = std::move(tasks_.front());
  tasks_.pop_front();
  if (link != nullptr) *link = task.link;
  return std::move(task.frame);
}

void NodeConnection::AbandonInForkedChild() {
  if (fd_ >= 0) close(fd_);
  if (listen_fd_ >= 0) close(listen_fd_);  // The file is the parent's: not unlinked.
  for (auto& [id, link] : links_) {
    close(link->fd);
    link->fd = -1;
  }
  fd_ = listen_fd_ = -1;
}

void NodeConnection::CloseWith(const std::string& reason) {
  RAYX_LOG(Error) << "closing the connection to the node: " << reason;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (close_reason_.empty()) close_reason_ = reason;
  }
  Close();
}

std::string NodeConnection::LostMessage() const {
  if (close_reason_.empty()) return "the connection to the node was lost";
  return "the connection to the node was closed: " + close_reason_;
}

void NodeConnection::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_ && fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  for (auto& [id, link] : links_) shutdown(link->fd, SHUT_RDWR);
  links_.clear();
  closed_ = true;
  cv_.notify_all();
}

template <typename Done>
bool NodeConnection::WaitFor(std::unique_lock<std::mutex>& lock, Done done, bool spin,
                             std::chrono::steady_clock::time_point deadline) {
  constexpr auto kCheckEvery = std::chrono::milliseconds(100);
  auto next_check = std::chrono::steady_clock::now() + kCheckEvery;
  while (!done() && !closed_) {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::min<std::chrono::steady_clock::duration>(kCheckEvery, deadline - now);
    if (reading_ || drain_waiters_ > 0) {
      cv_.wait_for(lock, wait);
    } else {
      reading_ = true;
      lock.unlock();
      ReadOnce(
          static_cast<int>(
              std::chrono::ceil<std::chrono::milliseconds>(std::max(wait, wait.zero())).count()),
          spin);
      // Only the first read spins: a wait for many answers (a get of a list) would otherwise
      // keep a CPU busy that the tasks streaming them back need.
      spin = false;
      lock.lock();
      reading_ = false;
      last_read_ = std::chrono::steady_clock::now();
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

std::chrono::microseconds NodeConnection::SpinWaitFromEnvironment() {
  const char* text = std::getenv("RAYX_SPIN_WAIT_US");
  if (text == nullptr || *text == '\0') return kDefaultSpinWait;
  unsigned value = 0;
  const char* end = text + std::strlen(text);
  auto [at, error] = std::from_chars(text, end, value);
  constexpr unsigned kMaxSpinUs = 10000;  // A sleep that late is no longer worth saving.
  if (error != std::errc() || at != end || value > kMaxSpinUs) {
    RAYX_LOG(Warning) << "RAYX_SPIN_WAIT_US must be a number of microseconds from 0 to "
                      << kMaxSpinUs << ", not \"" << text << "\"; using "
                      << kDefaultSpinWait.count();
    return kDefaultSpinWait;
  }
  return std::chrono::microseconds(value);
}

bool NodeConnection::ReadOnce(int timeout_ms, bool spin) {
  std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
  std::vector<std::pair<uint64_t, std::shared_ptr<Link>>> links;
  bool listening;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, link] : links_) {
      fds.push_back({link->fd, POLLIN, 0});
      links.emplace_back(id, link);
    }
    listening = listening_;
  }
  if (listening) fds.push_back({listen_fd_, POLLIN, 0});
  int ready = 0;
  if (spin && timeout_ms > 0 && spin_wait_.count() > 0) {
    // Yielding between polls lets a process that shares this CPU (the worker computing the
    // answer, on a machine with one) run at once.
    auto until = std::chrono::steady_clock::now() + spin_wait_;
    while ((ready = poll(fds.data(), fds.size(), 0)) == 0 &&
           std::chrono::steady_clock::now() < until) {
      sched_yield();
    }
  }
  if (ready == 0) ready = poll(fds.data(), fds.size(), timeout_ms);
  if (ready <= 0) return false;  // Nothing yet (or EINTR): the caller checks in.
  for (size_t i = 0; i < links.size(); ++i) {
    if (fds[i + 1].revents != 0) ReadLink(links[i].first, links[i].second);
  }
  if (listening && fds.back().revents != 0) AcceptLinks();
  if (fds[0].revents == 0) return true;
  ssize_t n;
  do {
    n = read(fd_, read_buffer_.data(), read_buffer_.size());
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    Close();
    return false;
  }
  Status s = decoder_.Feed(read_buffer_.data(), static_cast<size_t>(n),
                           [this](std::string_view frame) { Route(std::string(frame)); });
  if (!s.ok()) {
    CloseWith("a bad frame from the node (" + s.ToString() + ")");
    return false;
  }
  return true;
}

void NodeConnection::AcceptLinks() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: no more; other errors: try again when readable.
    auto link = std::make_shared<Link>();
    link->fd = fd;
    link->accepted = true;
    std::lock_guard<std::mutex> lock(mu_);
    links_.emplace(next_link_++, std::move(link));
  }
}

void NodeConnection::ReadLink(uint64_t id, const std::shared_ptr<Link>& link) {
  ssize_t n;
  do {
    n = read(link->fd, read_buffer_.data(), read_buffer_.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) {
    DropLink(id, /*report=*/true);
    return;
  }
  bool bad = false;
  Status s =
      link->decoder.Feed(read_buffer_.data(), static_cast<size_t>(n), [&](std::string_view frame) {
        if (!bad) bad = !RouteLinkFrame(id, link.get(), std::string(frame));
      });
  if (!s.ok() || bad) {
    RAYX_LOG(Warning) << "closing a direct link: "
                      << (s.ok() ? "unexpected message" : s.ToString());
    DropLink(id, /*report=*/true);
  }
}

void NodeConnection::Route(std::string frame) {
  auto envelope = ParseEnvelope(frame);
  if (!envelope.ok()) {
    // Its reply, or a task, may be lost with it: the callers waiting would wait for ever.
    CloseWith("a message from the node failed verification (" + envelope.status().ToString() + ")");
    return;
  }
  const wire::Envelope* e = *envelope;
  std::unique_lock<std::mutex> lock(mu_);
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
    tasks_.push_back(QueuedTask{0, std::move(frame)});
  } else if (uint64_t id = RequestIdOf(e); id != 0) {
    auto it = replies_.find(id);
    if (it != replies_.end()) it->second = std::move(frame);
  } else if (e->message_type() == wire::Message::LeaseGranted ||
             e->message_type() == wire::Message::RevokeLease ||
             e->message_type() == wire::Message::CancelTask) {
    lock.unlock();
    CallHandler(0, std::move(frame));
    return;
  } else {
    RAYX_LOG(Warning) << "unexpected message from the node, type "
                      << static_cast<int>(e->message_type());
  }
  cv_.notify_all();
}

bool NodeConnection::RouteLinkFrame(uint64_t id, Link* link, std::string frame) {
  auto envelope = ParseEnvelope(frame);
  if (!envelope.ok()) return false;
  const wire::Envelope* e = *envelope;
  if (link->accepted && !link->greeted) {
    const wire::Hello* hello = e->message_as_Hello();
    if (hello == nullptr || hello->protocol_version() != kProtocolVersion) return false;
    link->greeted = true;
    return true;
  }
  if (link->accepted && e->message_type() == wire::Message::ExecuteTask) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(QueuedTask{id, std::move(frame)});
    cv_.notify_all();
    return true;
  }
  if (!link->accepted && e->message_type() == wire::Message::TaskDone) {
    CallHandler(id, std::move(frame));
    return true;
  }
  return false;
}

}  // namespace rayx
