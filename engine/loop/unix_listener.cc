#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

#include "engine/base/logging.h"
#include "engine/loop/callback_guard.h"
#include "engine/loop/connection.h"

namespace rayx {
namespace {

// Whether a process is accepting connections on the socket file at path.
bool SomeoneListens(const sockaddr_un& addr) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return live;
}

}  // namespace

// Owns the listening uv pipe. Lives until the close callback, which may come after the listener.
struct UnixListener::Handle : internal::HandleHolder {
  Handle(EventLoop* loop, UnixListener* owner) : HandleHolder(loop), owner(owner) {
    RAYX_CHECK(uv_pipe_init(loop->uv(), &pipe, 0) == 0);
    pipe.data = this;
  }

  void Close() {
    auto* handle = reinterpret_cast<uv_handle_t*>(&pipe);
    if (!uv_is_closing(handle)) uv_close(handle, &Handle::OnClosed);
  }

  void CloseForStop() override { Close(); }

  // Runs inside GuardCallback. If the accept handler throws, the connection it was handed is
  // closed (its peer sees the connection end) and the listener goes on accepting.
  static void OnConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<Handle*>(server->data);
    std::shared_ptr<Connection> accepted;
    const bool ok = GuardCallback("UnixListener connection callback", [&] {
      if (status < 0) {
        // Such as running out of file descriptors; libuv keeps listening.
        RAYX_LOG(Warning) << "accept on " << self->path << ": " << uv_strerror(status);
        return;
      }
      std::shared_ptr<Connection> conn = Connection::Create(self->loop_);
      accepted = conn;
      int rc = uv_accept(server, conn->stream());
      if (rc != 0) {
        RAYX_LOG(Warning) << "accept on " << self->path << ": " << uv_strerror(rc);
        conn->Close(IoError(std::string("accept: ") + uv_strerror(rc)));
        return;
      }
      if (self->on_accept) self->on_accept(std::move(conn));
    });
    if (!ok && accepted != nullptr) {
      GuardCallback("the close of a connection whose accept handler threw", [&] {
        accepted->Close(Internal("exception in the accept handler; connection closed"));
      });
    }
  }

  static void OnClosed(uv_handle_t* handle) {
    GuardCallback("UnixListener close callback", [handle] {
      auto* self = static_cast<Handle*>(handle->data);
      if (self->owner != nullptr) self->owner->handle_ = nullptr;
      self->Unregister();
      delete self;
    });
  }

  uv_pipe_t pipe;
  UnixListener* owner;  // Null once the listener has let go of this handle.
  std::string path;
  AcceptHandler on_accept;
};

UnixListener::UnixListener(EventLoop* loop) : loop_(loop) {}

UnixListener::~UnixListener() { Close(); }

Status UnixListener::Listen(const std::string& path, AcceptHandler on_accept) {
  if (handle_ != nullptr || !path_.empty()) return FailedPrecondition("already listening");
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("bad Unix socket path '" + path + "'");
  }
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());

  // A socket file left by a process that is gone is removed; a live one or another file is not.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return AlreadyExists(path + " exists and is not a socket");
    if (SomeoneListens(addr)) return AlreadyExists("another process listens on " + path);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink " + path, errno);
  }

  auto* handle = new Handle(loop_, this);
  handle->path = path;
  handle->on_accept = std::move(on_accept);
  auto* stream = reinterpret_cast<uv_stream_t*>(&handle->pipe);
  int rc = uv_pipe_bind(&handle->pipe, path.c_str());
  if (rc == 0) {
    path_ = path;  // Ours to remove from here on.
    rc = uv_listen(stream, SOMAXCONN, &Handle::OnConnection);
  }
  if (rc != 0) {
    handle->owner = nullptr;
    handle->Close();
    Close();
    return IoError("listen on " + path + ": " + uv_strerror(rc));
  }
  handle_ = handle;
  return Status::OK();
}

void UnixListener::Close() {
  if (handle_ != nullptr) {
    handle_->owner = nullptr;
    handle_->Close();
    handle_ = nullptr;
  }
  if (!path_.empty()) {
    unlink(path_.c_str());
    path_.clear();
  }
}

}  // namespace rayx
