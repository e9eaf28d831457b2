// OutputForwarder: copies a worker's stdout or stderr to the node's own, line by line, each line
// prefixed with the worker's current task name and pid, as in "(chatty pid=4242) hello".
//
// Lines are written whole with one write(2) each, so lines from different workers never interleave
// within a line. A partial last line is written when the stream ends.
// If forwarding throws (out of memory), the exception is logged, the text buffered so far is
// dropped, and forwarding goes on; no exception crosses a libuv frame.
// Thread: loop thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "engine/loop/event_loop.h"

namespace rayx {

class OutputForwarder {
 public:
  // prefix() is asked for the current prefix each time a line is written.
  OutputForwarder(EventLoop* loop, int target_fd, std::function<std::string()> prefix);
  ~OutputForwarder();  // Closes the pipe if it is still open.

  // The pipe to hand to uv_spawn as the child's stdout or stderr (UV_CREATE_PIPE |
  // UV_WRITABLE_PIPE).
  uv_pipe_t* pipe();
  // Starts reading after the child was spawned.
  void Start();

 private:
  struct Handle;
  static void OnClosed(uv_handle_t* handle);
  void OnData(const char* data, size_t n);
  void Flush(bool all);

  int target_fd_;
  std::function<std::string()> prefix_;
  std::string partial_;
  Handle* handle_;  // Owned; deleted in the uv close callback.
};

}  // namespace rayx
