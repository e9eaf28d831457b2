#include "engine/worker/output_sink.h"

#include <unistd.h>

#include <string>

namespace rayx {

namespace {

// How often held-back lines are looked at while there are some.
constexpr uint64_t kExpireEveryMs = 500;

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;  // The terminal went away; output is best effort.
    done += static_cast<size_t>(n);
  }
}

}  // namespace

OutputSink::OutputSink(EventLoop* loop, int target_fd, LogDedupOptions options)
    : loop_(loop), target_fd_(target_fd), dedup_(std::move(options)), timer_(loop) {}

OutputSink::~OutputSink() { Flush(); }

double OutputSink::Now() { return static_cast<double>(loop_->NowMs()) / 1000.0; }

void OutputSink::Write(std::string_view prefix, uint64_t source, std::string_view lines) {
  std::string out;
  out.reserve(lines.size() + 4 * prefix.size());
  double now = Now();
  dedup_.Expire(now, &out);
  size_t start = 0;
  while (start < lines.size()) {
    size_t nl = lines.find('\n', start);
    if (nl == std::string_view::npos) nl = lines.size();
    dedup_.Add(prefix, lines.substr(start, nl - start), source, now, &out);
    start = nl + 1;
  }
  if (!out.empty()) WriteAll(target_fd_, out);
  if (dedup_.holding() && !timer_on_) {
    timer_on_ = true;
    timer_.Start(kExpireEveryMs, kExpireEveryMs, [this] { Expire(); });
  }
}

void OutputSink::Expire() {
  std::string out;
  dedup_.Expire(Now(), &out);
  if (!out.empty()) WriteAll(target_fd_, out);
  if (!dedup_.holding()) {
    timer_on_ = false;
    timer_.Stop();
  }
}

void OutputSink::Flush() {
  std::string out;
  dedup_.Flush(&out);
  if (!out.empty()) WriteAll(target_fd_, out);
  timer_on_ = false;
  timer_.Stop();
}

}  // namespace rayx
