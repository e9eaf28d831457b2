#include "engine/worker/output_forwarder.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/loop/callback_guard.h"

namespace rayx {

struct OutputForwarder::Handle {
  uv_pipe_t pipe;
  OutputForwarder* owner;  // Null once the owner is gone.
  bool closing = false;    // uv_close was called.
  bool closed = false;     // The close callback ran.
};

OutputForwarder::OutputForwarder(EventLoop* loop, OutputSink* sink,
                                 std::function<std::string()> prefix)
    : sink_(sink), prefix_(std::move(prefix)), handle_(new Handle) {
  uv_pipe_init(loop->uv(), &handle_->pipe, 0);
  handle_->owner = this;
  handle_->pipe.data = handle_;
}

// The libuv callbacks below run inside GuardCallback. If forwarding throws (out of memory), the
// text buffered so far is dropped and forwarding goes on; the read buffer is freed all the same.
void OutputForwarder::OnClosed(uv_handle_t* handle) {
  GuardCallback("OutputForwarder close callback", [handle] {
    auto* h = static_cast<Handle*>(handle->data);
    h->closed = true;
    if (h->owner == nullptr) delete h;
  });
}

OutputForwarder::~OutputForwarder() {
  Flush(/*all=*/true);
  handle_->owner = nullptr;
  if (!handle_->closing) {
    handle_->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->pipe), &OutputForwarder::OnClosed);
  } else if (handle_->closed) {
    delete handle_;
  }
}

uv_pipe_t* OutputForwarder::pipe() { return &handle_->pipe; }

void OutputForwarder::Start() {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&handle_->pipe),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        // malloc does not throw; a null buffer makes libuv report UV_ENOBUFS, which closes.
        buf->base = static_cast<char*>(std::malloc(suggested));
        buf->len = buf->base ? suggested : 0;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* h = static_cast<Handle*>(stream->data);
        const bool ok = GuardCallback("OutputForwarder read callback", [&] {
          if (nread > 0 && h->owner != nullptr) {
            h->owner->OnData(buf->base, static_cast<size_t>(nread));
          }
          if (nread < 0 && h->owner != nullptr) h->owner->Flush(/*all=*/true);
        });
        if (!ok && h->owner != nullptr) h->owner->partial_.clear();
        std::free(buf->base);
        if (nread < 0 && !h->closing) {
          h->closing = true;
          // The owner keeps its pointer; it sees closing and will not close again.
          uv_close(reinterpret_cast<uv_handle_t*>(stream), &OutputForwarder::OnClosed);
        }
      });
}

void OutputForwarder::OnData(const char* data, size_t n) {
  partial_.append(data, n);
  Flush(/*all=*/false);
}

void OutputForwarder::Flush(bool all) {
  if (partial_.empty()) return;
  size_t end = partial_.rfind('\n');
  end = end == std::string::npos ? 0 : end + 1;  // Past the last whole line.
  if (all && end < partial_.size()) {
    partial_.push_back('\n');
    end = partial_.size();
  }
  if (end == 0) return;
  sink_->Write(prefix_(), reinterpret_cast<uintptr_t>(this),
               std::string_view(partial_).substr(0, end));
  partial_.erase(0, end);
}

}  // namespace rayx
