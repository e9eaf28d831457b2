// LogDeduplicator: Ray's deduplication of worker output (RAY_DEDUP_LOGS), as pure logic.
//
// A line's pattern is the line without the words that hold a digit (ids, pids, counters, times
// differ between workers). The first line of a pattern is printed at once. Once a second source
// (worker stream) has printed the pattern within the window, its further lines are counted instead
// of printed, from every source; when the window (RAY_DEDUP_LOGS_AGG_WINDOW_S, 5 s) since the
// pattern was first seen has passed, the latest of them is printed once as
// "<prefix><line> [repeated Nx across cluster]" (a single held-back line plainly), and counting
// goes on for another window. Lines whose pattern is empty are never held back, nor lines of one
// source alone. Lines matching RAY_DEDUP_LOGS_ALLOW_REGEX are always printed, those matching
// RAY_DEDUP_LOGS_SKIP_REGEX never.
//
// Times are seconds on any monotonic clock, passed in by the caller.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace rayx {

struct LogDedupOptions {
  bool enabled = true;
  double window_s = 5;
  std::shared_ptr<const std::regex> allow;  // Null: none.
  std::shared_ptr<const std::regex> skip;   // Null: none.

  // RAY_DEDUP_LOGS ("0" or "false" turns it off), RAY_DEDUP_LOGS_AGG_WINDOW_S and the two
  // regexes, as Ray reads them. A regex that does not compile is left out, and *warning says so.
  static LogDedupOptions FromEnvironment(std::string* warning);
};

class LogDeduplicator {
 public:
  // At most this many patterns are remembered; past it the oldest is let go early.
  static constexpr size_t kMaxPatterns = 10000;

  explicit LogDeduplicator(LogDedupOptions options) : options_(std::move(options)) {}

  // A line (without its newline) from source, whose output prefix is prefix: appends to *out
  // what is to be printed now, whole lines with their newlines.
  void Add(std::string_view prefix, std::string_view line, uint64_t source, double now,
           std::string* out);
  // Appends what the window has passed for (see above).
  void Expire(double now, std::string* out);
  // Appends every line held back, and forgets every pattern (the stream is ending).
  void Flush(std::string* out);

  // Lines are held back now: Expire has something to do later.
  bool holding() const { return holding_ > 0; }
  size_t num_patterns() const { return patterns_.size(); }

  // The pattern of a line (Ray's _canonicalise_log_line).
  static std::string Pattern(std::string_view line);

 private:
  struct Entry {
    std::string key;
    double since = 0;          // When this window began.
    uint64_t count = 0;        // Lines held back in this window.
    std::string prefix, line;  // The latest line of the pattern and its prefix.
    std::unordered_set<uint64_t> sources;
  };
  void Release(Entry& entry, std::string* out);

  LogDedupOptions options_;
  std::list<Entry> order_;  // Oldest window first.
  std::unordered_map<std::string_view, std::list<Entry>::iterator> patterns_;  // Keys in order_.
  size_t holding_ = 0;  // Entries with count > 0.
  bool told_ = false;   // The note on how to turn it off was printed.
};

}  // namespace rayx
