// OutputSink: where the lines of every worker's stdout (or stderr) go on the node: the node's own
// stdout (or stderr), through Ray's deduplication (LogDeduplicator) unless RAY_DEDUP_LOGS=0.
//
// Lines are written with one write(2) per call of Write, so lines from different workers never
// interleave within a line. While lines are held back, a timer lets them out once their window
// has passed; Flush (the node stops) writes whatever is held back.
// Thread: loop thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/loop/event_loop.h"
#include "engine/worker/log_dedup.h"

namespace rayx {

class OutputSink {
 public:
  OutputSink(EventLoop* loop, int target_fd, LogDedupOptions options);
  ~OutputSink();  // Flushes.
  OutputSink(const OutputSink&) = delete;
  OutputSink& operator=(const OutputSink&) = delete;

  // Whole lines (each ending in '\n') from source (one worker's stream), each to be prefixed
  // with prefix.
  void Write(std::string_view prefix, uint64_t source, std::string_view lines);
  // Writes every line held back.
  void Flush();

 private:
  double Now();
  void Expire();

  EventLoop* loop_;
  int target_fd_;
  LogDeduplicator dedup_;
  Timer timer_;
  bool timer_on_ = false;
};

}  // namespace rayx
