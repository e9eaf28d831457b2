#include "engine/worker/log_dedup.h"

#include <cstdlib>
#include <cstring>

namespace rayx {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::shared_ptr<const std::regex> Compile(const char* variable, std::string* warning) {
  const char* pattern = std::getenv(variable);
  if (pattern == nullptr || *pattern == '\0') return nullptr;
  try {
    return std::make_shared<const std::regex>(pattern);
  } catch (const std::exception& e) {  // std::regex_error, or out of memory.
    if (!warning->empty()) warning->append("; ");
    warning->append(std::string(variable) + "=" + pattern + " is not a regex rayx can use (" +
                    e.what() + "): ignored");
    return nullptr;
  }
}

}  // namespace

LogDedupOptions LogDedupOptions::FromEnvironment(std::string* warning) {
  LogDedupOptions options;
  warning->clear();
  if (const char* on = std::getenv("RAY_DEDUP_LOGS")) {
    options.enabled = !(std::strcmp(on, "0") == 0 || std::strcmp(on, "false") == 0 ||
                        std::strcmp(on, "False") == 0);
  }
  if (const char* window = std::getenv("RAY_DEDUP_LOGS_AGG_WINDOW_S")) {
    char* end = nullptr;
    long seconds = std::strtol(window, &end, 10);
    if (end != window && *end == '\0' && seconds >= 0) {
      options.window_s = static_cast<double>(seconds);
    } else {
      *warning = std::string("RAY_DEDUP_LOGS_AGG_WINDOW_S=") + window +
                 " is not a whole number of seconds: the default, 5, is used";
    }
  }
  options.allow = Compile("RAY_DEDUP_LOGS_ALLOW_REGEX", warning);
  options.skip = Compile("RAY_DEDUP_LOGS_SKIP_REGEX", warning);
  return options;
}

std::string LogDeduplicator::Pattern(std::string_view line) {
  std::string key;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    size_t start = i;
    bool digit = false;
    for (; i < line.size() && !IsSpace(line[i]); ++i)
      digit = digit || (line[i] >= '0' && line[i] <= '9');
    if (i == start || digit) continue;
    if (!key.empty()) key.push_back(' ');
    key.append(line.substr(start, i - start));
  }
  return key;
}

void LogDeduplicator::Add(std::string_view prefix, std::string_view line, uint64_t source,
                          double now, std::string* out) {
  auto print = [&] { out->append(prefix).append(line).push_back('\n'); };
  if (!options_.enabled) return print();
  if (options_.allow != nullptr && std::regex_search(line.begin(), line.end(), *options_.allow)) {
    return print();
  }
  if (options_.skip != nullptr && std::regex_search(line.begin(), line.end(), *options_.skip)) {
    return;
  }
  std::string key = Pattern(line);
  if (key.empty()) return print();  // Nothing but numbers: all there is to see.
  auto found = patterns_.find(key);
  if (found != patterns_.end()) {
    Entry& entry = *found->second;
    entry.sources.insert(source);
    if (entry.sources.size() < 2) return print();  // One source alone is never held back.
    if (entry.count++ == 0) ++holding_;
    entry.prefix.assign(prefix.data(), prefix.size());
    entry.line.assign(line.data(), line.size());
    return;
  }
  if (patterns_.size() >= kMaxPatterns) {  // Let the oldest go early.
    Release(order_.front(), out);
    patterns_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.emplace_back();
  Entry& entry = order_.back();
  entry.key = std::move(key);
  entry.since = now;
  entry.sources.insert(source);
  patterns_.emplace(entry.key, std::prev(order_.end()));
  print();
}

void LogDeduplicator::Release(Entry& entry, std::string* out) {
  if (entry.count == 0) return;
  out->append(entry.prefix).append(entry.line);
  if (entry.count > 1) {
    out->append(" [repeated " + std::to_string(entry.count) + "x across cluster]");
    if (!told_) {
      told_ = true;
      out->append(
          " (rayx deduplicates logs by default, as Ray does. Set RAY_DEDUP_LOGS=0 to disable "
          "log deduplication.)");
    }
  }
  out->push_back('\n');
  entry.count = 0;
  --holding_;
}

void LogDeduplicator::Expire(double now, std::string* out) {
  while (!order_.empty() && now - order_.front().since >= options_.window_s) {
    auto it = order_.begin();
    bool repeated = it->count > 1;
    Release(*it, out);
    if (repeated) {  // Counting goes on for another window.
      it->since = now;
      order_.splice(order_.end(), order_, it);
      // A pattern seen again within this window is at the back now: stop at the first that
      // came back around.
      if (order_.front().since == now) break;
    } else {
      patterns_.erase(it->key);
      order_.erase(it);
    }
  }
}

void LogDeduplicator::Flush(std::string* out) {
  for (Entry& entry : order_) Release(entry, out);
  patterns_.clear();
  order_.clear();
  holding_ = 0;
}

}  // namespace rayx
