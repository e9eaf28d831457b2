// A task's retry budget, shared by TaskManager's files: how many more runs a failure may cost.
#pragma once

#include <cstdint>
#include <string>

namespace rayx {

// The retry budget of a task with this max_retries: -1 (any negative value) retries for ever.
inline int BudgetOf(int max_retries) { return max_retries < 0 ? -1 : max_retries; }

// Runs of a task lost with a member start at the next multiple of this (OnRemoteLost).
constexpr uint32_t kAttemptBlock = 1u << 16;

// Takes one retry from a budget: false when none is left. The next run is one attempt later.
inline bool TakeRetry(int* retries_left, uint32_t* attempt) {
  if (*retries_left == 0) return false;
  if (*retries_left > 0) --*retries_left;
  ++*attempt;
  return true;
}

inline std::string RetriesLeftText(int retries_left) {
  return retries_left < 0 ? "no retry limit" : std::to_string(retries_left) + " retries left";
}

}  // namespace rayx
