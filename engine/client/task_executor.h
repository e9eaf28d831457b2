// TaskExecutor: a worker's side of the tasks it runs. It takes the next task (from the node, or
// from an owner's direct link), reads its arguments, and reports its results: to the node, and
// for a direct task to its owner first, on the link it came by.
//
// A direct task's report to the node waits in the channel (it travels with the next frame to the
// node, or within kFlushDelay) when its owner can stand in for it: one small result holding no
// references, which the owner keeps and promotes to the node when someone there may wait for it.
// Otherwise the report goes at once.
//
// Cancellation: the node names a cancelled task (CancelTask), and sends the SIGINT that interrupts
// it only once that frame is in the worker's socket, so the worker can tell which task a signal is
// for: a task named before it comes is handed out marked cancelled, and Cancelled() reads what has
// arrived and answers for a signal (one that came before the task's code started, or while it
// runs). An actor's calls get no signal: the names alone say which to skip, and with cancel
// notices on (an actor serving calls concurrently) NextTask hands each name out too, for the
// Python side to cancel a coroutine or skip a call that waits for a thread.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/direct_submitter.h"
#include "engine/client/node_channel.h"
#include "engine/client/task_context.h"
#include "engine/client/value_io.h"

namespace rayx {

class TaskExecutor {
 public:
  // Every pointer must outlive the executor.
  // Takes the node's CancelTask frames from the channel.
  TaskExecutor(NodeChannel* channel, TaskContext* context, ValueIo* io, DirectSubmitter* direct);

  // Blocks until a task comes and fills *task with it (true), or returns false once the
  // connection is closed or the interrupt check said to give up (*interrupted is then set).
  // The calling thread's current task is the new task's from then on. An argument that cannot be
  // read (its shared-memory file is gone) is an error status.
  StatusOr<bool> NextTask(TaskToRun* task, bool* interrupted);
  // The task is done with these results (retry: it failed in a way that is to be retried).
  // timing: see ReportTiming. A report to the node that waits (timing not kNow, and
  // WaitsForOthers) is only queued (NodeChannel::HoldBriefly): TaskDone then makes no system call.
  // Only actors' calls are reported so; they never come on an owner's direct link, whose report
  // goes to the owner at once whatever the timing.
  Status TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results, bool retry,
                  ReportTiming timing = ReportTiming::kNow);
  // Whether a report of these results may wait for others: one small inline value that holds no
  // references (kMaxWaitingReport bytes at most), which the node needs nothing else for.
  static bool WaitsForOthers(const std::vector<OutgoingValue>& results);
  static constexpr size_t kMaxWaitingReport = 4096;
  // Sends the reports that wait (ReportTiming::kAfterFlush), if any do.
  void FlushResults() { channel_->FlushSoon(); }
  // The node prefixes this worker's output lines with name from now on (an actor's __repr__),
  // until the node sends it another task.
  Status SetOutputName(std::string_view name);
  // Whether the node said that task_id is cancelled, after reading what has arrived (waiting up
  // to wait_ms for another thread's read to end, see NodeConnection::ReadArrived; 0: when another
  // thread reads, it routes what arrives anyway, and this answers from what it routed).
  bool Cancelled(const TaskID& task_id, int wait_ms = 500);
  // From now on NextTask also hands out each CancelTask the node sends (TaskToRun::cancel_notice).
  void EnableCancelNotices() { notices_ = true; }
  // Takes a CancelTask from the node (NodeConnection::FrameHandler); false for other frames.
  bool HandleFrame(uint64_t link, const std::string& frame);

 private:
  NodeChannel* const channel_;
  TaskContext* const context_;
  ValueIo* const io_;
  DirectSubmitter* const direct_;

  std::mutex mu_;
  // The link each direct task came from, to send its TaskDone back on.
  std::unordered_map<TaskID, uint64_t> task_links_;  // GUARDED_BY(mu_)
  // The task name the node has for this worker (it prefixes the worker's output with it).
  std::string name_at_node_;  // GUARDED_BY(mu_)
  // Tasks the node cancelled, the newest kMaxCancelled of them (a cancel may come for a task
  // that ended meanwhile, or that never comes: they are forgotten oldest first).
  static constexpr size_t kMaxCancelled = 1024;
  std::unordered_set<TaskID> cancelled_;  // GUARDED_BY(mu_)
  std::deque<TaskID> cancelled_order_;    // GUARDED_BY(mu_)
  std::atomic<bool> notices_{false};
  // The resources of the last task (not an actor's call: those carry none) that the node sent,
  // none before the first, which an ExecuteTask with resources_as_before asks for again. Only a
  // task worker's thread that takes tasks, one at a time, reads and writes it; a TaskToRun's names
  // may point into it.
  std::vector<std::pair<std::string, double>> node_resources_;
  // The thread that takes the tasks. A TaskDone on it may wait to travel with the next ones,
  // since NextTask sends what waits before it waits itself; one from another thread (a threaded
  // or async actor's call) goes at once.
  std::atomic<std::thread::id> taker_{};
};

}  // namespace rayx
