// CancelledParents: the tasks a recursive ray.cancel reached that may still submit tasks (they
// were running), so that a task they submitted which reaches the node after the cancel (a
// worker's direct task, announced after the fact) is cancelled when it comes.
//
// It keeps the newest `capacity` parents and forgets older ones: a cancelled task stops soon
// (it is interrupted), and what it submitted reaches the node before its own end (one channel,
// in order), so only recent parents matter. Contains is one branch when nothing was cancelled,
// so the submission path pays nothing for it.
//
// Thread: not thread-safe (the node's loop thread).
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_set>

#include "engine/base/ids.h"

namespace rayx {

class CancelledParents {
 public:
  explicit CancelledParents(size_t capacity = 4096) : capacity_(capacity) {}

  void Add(const TaskID& parent);
  bool Contains(const TaskID& parent) const {
    return !parents_.empty() && parents_.count(parent) != 0;
  }
  size_t size() const { return parents_.size(); }

 private:
  const size_t capacity_;
  std::unordered_set<TaskID> parents_;
  std::deque<TaskID> order_;  // Oldest first.
};

}  // namespace rayx
