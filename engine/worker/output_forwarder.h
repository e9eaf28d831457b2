// OutputForwarder: copies a worker's stdout or stderr to an OutputSink (the node's own stream),
// line by line, each line prefixed with the worker's current task name (or its actor's) and pid,
// as in "(chatty pid=4242) hello". A partial last line is written when the stream ends.
// If forwarding throws (out of memory), the exception is logged, the text buffered so far is
// dropped, and forwarding goes on; no exception crosses a libuv frame.
// Thread: loop thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "engine/loop/event_loop.h"
#include "engine/worker/output_sink.h"

namespace rayx {

class OutputForwarder {
 public:
  // prefix() is asked for the current prefix each time lines are written. sink must outlive the
  // forwarder.
  OutputForwarder(EventLoop* loop, OutputSink* sink, std::function<std::string()> prefix);
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

  OutputSink* sink_;
  std::function<std::string()> prefix_;
  std::string partial_;
  Handle* handle_;  // Owned; deleted in the uv close callback.
};

}  // namespace rayx
