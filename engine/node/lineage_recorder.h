// LineageRecorder: what the node tells the lineage log (storage/lineage_log.h) about its tasks, and
// the results of a replayed job's logged tasks (DESIGN.md, "Lineage log").
//
// The process's log: an embedded node opens it when it starts (one database per node,
// $RAYX_HOME/lineage/<job uid>; RAYX_LINEAGE=0 turns logging off), and it lives until the driver
// ends, when FinishProcessLineage records the script's exit status. A log that cannot be opened is
// a warning: the script runs unlogged.
//
// Replay: when RAYX_REPLAY_OF names a logged job, the node reads that job's finished tasks at
// start; a task whose id, function id and argument hash match one of them gets its logged results
// (Reuse) instead of running.
//
// Thread: the recorder's calls are made on the node's loop thread; they only copy what they
// report into the log's queue (and hash arguments when replaying).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/ids.h"
#include "engine/node/task_spec.h"
#include "engine/objects/object_table.h"
#include "storage/lineage_log.h"

namespace rayx {

class LineageRecorder {
 public:
  // log may be null (logging off): every call does nothing then.
  LineageRecorder(LineageLog* log, const ObjectTable* objects);

  // A task, actor creation or actor call arrived; from_driver: its submitter is the driver.
  void Submitted(const TaskSpec& spec, bool from_driver);
  void FunctionExported(const std::string& function_id, const std::string& blob);
  void Started(const TaskID& id, int worker_pid);
  void Finished(const TaskID& id, const std::vector<StoredValue>& results);
  // The task ended with an error value.
  void Failed(const TaskID& id, const StoredValue& error);
  void Retried(const TaskID& id, const std::string& why);

  // True while this node replays a job: it then refuses leases, so that every task passes it.
  bool replaying() const;
  // The logged results of spec, when it is a task (not an actor's) that matches a logged success;
  // the reuse is logged.
  std::optional<std::vector<StoredValue>> Reuse(const TaskSpec& spec);

 private:
  std::string ArgsMaterial(const TaskSpec& spec) const;

  LineageLog* log_;
  const ObjectTable* objects_;
  // The text of the last demand seen: most tasks share their demand.
  ResourceSet last_resources_;
  std::string last_resources_text_;
};

// Opens this process's log for a node that starts now (once per process; later calls do nothing)
// and returns it, or null when logging is off. The database is opened by the log's writer thread:
// when it cannot be, report says why (from that thread) and the log records nothing.
LineageLog* StartProcessLineage(const std::function<void(const std::string&)>& report);
// The log opened above, or null.
LineageLog* ProcessLineage();
// Records the end of this process's job with the script's exit status and, for a replay, prints
// its summary on stderr. Called once the script has ended; without a log it does nothing.
void FinishProcessLineage(int exit_code);

}  // namespace rayx
