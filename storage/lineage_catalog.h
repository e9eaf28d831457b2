// The lineage databases of one machine, as readers see them: `rayx jobs`, `rayx replay` and
// `rayx timeline` (DESIGN.md, "Lineage log").
//
// Every node writes its own database, <root>/<uid> (root is $RAYX_HOME/lineage, uid the
// user-visible id of the node's job), so two drivers at once never share a writer. Readers open
// databases read-only, which works while their writer runs. A database whose LOCK file no process
// holds (fcntl F_GETLK) has no writer: a job in it still RUNNING lost its driver and reads FAILED.
//
// A database that cannot be read (corrupt, not a database) is reported with its path in errors
// and skipped; it never hides the others.
//
// Thread-compatible: plain functions over the file system.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "storage/lineage_store.h"

namespace rayx {

// $RAYX_HOME/lineage (default ~/.rayx/lineage).
std::string LineageRoot(const std::string& data_dir);

struct CatalogJob {
  JobInfo job;  // state already corrected for a dead writer
  std::string db_path;
  bool writer_alive = false;
};

// True while some process holds the database at db_path open for writing.
bool LineageDatabaseInUse(const std::string& db_path);

// Every job of every database under root, oldest first.
std::vector<CatalogJob> ListLineageJobs(const std::string& root, std::vector<std::string>* errors);

// The job named uid; NotFound if no database holds it.
StatusOr<CatalogJob> FindLineageJob(const std::string& root, const std::string& uid);

// The tasks of a job found above, in task id order.
StatusOr<std::vector<TaskInfo>> LineageTasksOf(const CatalogJob& job);

struct RetentionPolicy {
  size_t keep_jobs = 1000;  // the newest ones
  int64_t keep_days = 30;
  // What the newest jobs may take on disk together: a job of ten million tasks takes gigabytes,
  // and a thousand of them would fill a disk long before the count or the age says so.
  uint64_t keep_bytes = 10ull << 30;
};
// Removes the databases with no writer beyond the newest keep_jobs, or that ended more than
// keep_days ago, or that come after the newest ones whose size passes keep_bytes (the newest
// ended job always stays, for its replay). Unreadable ones are left (and reported), but for those
// abandoned as they were made: no CURRENT file, no writer, nothing written for ten minutes (a
// process killed while it created its log leaves one). Returns how many were removed.
size_t PruneLineage(const std::string& root, const RetentionPolicy& policy,
                    std::vector<std::string>* errors);

// What a node's start does: PruneLineage when LineageMayNeedPruning says so and no start did in
// the last min_interval (the file <root>/.pruned keeps the time). Pruning reads every database,
// which takes seconds with a thousand of them: once a thousand jobs are kept, every start would
// otherwise pay that to remove one.
size_t PruneLineageIfDue(const std::string& root, const RetentionPolicy& policy,
                         std::chrono::seconds min_interval, std::vector<std::string>* errors);

// Whether PruneLineage could remove anything, from the directories' count, times and sizes alone
// (no database is opened, one stat per file): cheap enough for every node start.
bool LineageMayNeedPruning(const std::string& root, const RetentionPolicy& policy);

// The policy from $RAYX_LINEAGE_KEEP_JOBS, $RAYX_LINEAGE_KEEP_DAYS and $RAYX_LINEAGE_KEEP_BYTES,
// else the defaults.
RetentionPolicy RetentionFromEnvironment();

}  // namespace rayx
