// Repeats the SIGINT of a cancelled running task until the task ends.
//
// CPython runs a signal's Python handler between bytecodes, and a blocking call it makes is
// interrupted only by a signal that comes while it blocks: a SIGINT that lands after a task's last
// check and before it blocks (time.sleep entering clock_nanosleep) is seen only when the call
// returns, a minute later for time.sleep(60). The cancel was then lost for that long (about one in
// a few thousand cancels of tasks that had just started, in a loop). Ray's owners retry a cancel
// for the same reason. A repeat is harmless: the worker raises KeyboardInterrupt once per task
// (worker_main.py), so it does not interrupt the cleanup of a task interrupted already.
//
// Thread: the node's loop thread only, including construction.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/loop/event_loop.h"

namespace rayx {

class CancelResignal {
 public:
  // resignal(key, worker) sends the SIGINT again and returns true while the task key still runs
  // on that worker; false forgets the task.
  using Resignal = std::function<bool(uint64_t key, const WorkerID& worker)>;

  CancelResignal(EventLoop* loop, Resignal resignal, uint64_t period_ms);

  // The task key, running on worker, was sent its SIGINT: it is sent again every period_ms
  // while it runs there.
  void Track(uint64_t key, const WorkerID& worker);
  size_t tracked() const { return tracked_.size(); }

 private:
  void Tick();

  Timer timer_;
  Resignal resignal_;
  uint64_t period_ms_;
  bool running_ = false;
  std::vector<std::pair<uint64_t, WorkerID>> tracked_;
};

}  // namespace rayx
