#include "storage/lineage_catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "storage/rocksdb_key_value_store.h"

namespace rayx {

namespace {

std::vector<std::string> DatabaseDirs(const std::string& root) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory(ec)) dirs.push_back(entry.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

StatusOr<std::vector<JobInfo>> JobsIn(const std::string& db_path) {
  RAYX_ASSIGN_OR_RETURN(auto kv, OpenRocksDbKeyValueStoreReadOnly(db_path));
  LineageStore store(std::move(kv));
  return store.ListJobs();
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return (end != nullptr && *end == '\0' && n >= 0) ? n : fallback;
}

// The bytes of the files in a database's directory (RocksDB keeps no subdirectories).
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    uintmax_t size = entry.is_regular_file(size_ec) ? entry.file_size(size_ec) : 0;
    if (!size_ec) total += size;
  }
  return total;
}

// The databases left unfinished by a process that died as it created one: no CURRENT file (RocksDB
// writes it last), no writer, and nothing written for ten minutes (a live one is made within
// milliseconds). They cannot be read, so PruneLineage would otherwise never remove them.
std::vector<std::string> AbandonedDatabases(const std::string& root) {
  constexpr auto kAbandonedAfter = std::chrono::minutes(10);
  auto before = std::filesystem::file_time_type::clock::now() - kAbandonedAfter;
  std::vector<std::string> abandoned;
  for (const std::string& dir : DatabaseDirs(root)) {
    std::error_code ec;
    if (std::filesystem::exists(dir + "/CURRENT", ec) || ec) continue;
    bool recent = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::error_code time_ec;
      auto written = entry.last_write_time(time_ec);
      recent = recent || time_ec || written >= before;
    }
    auto written = std::filesystem::last_write_time(dir, ec);
    if (!ec && !recent && written < before && !LineageDatabaseInUse(dir)) abandoned.push_back(dir);
  }
  return abandoned;
}

}  // namespace

std::string LineageRoot(const std::string& data_dir) { return data_dir + "/lineage"; }

bool LineageDatabaseInUse(const std::string& db_path) {
  int fd = open((db_path + "/LOCK").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  bool held = fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  close(fd);
  return held;
}

namespace {

// The jobs of the database in dir, their states corrected for a writer that is gone.
StatusOr<std::vector<CatalogJob>> EntriesIn(const std::string& dir) {
  bool locked = LineageDatabaseInUse(dir);
  RAYX_ASSIGN_OR_RETURN(std::vector<JobInfo> jobs, JobsIn(dir));
  std::vector<CatalogJob> entries;
  for (JobInfo& job : jobs) {
    CatalogJob entry;
    // POSIX locks do not conflict within their own process: a job of this process is alive
    // while it is RUNNING.
    entry.writer_alive = locked || (job.pid == getpid() && job.state == JobInfo::State::kRunning);
    if (!entry.writer_alive && job.state == JobInfo::State::kRunning)
      job.state = JobInfo::State::kFailed;
    entry.job = std::move(job);
    entry.db_path = dir;
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

std::vector<CatalogJob> ListLineageJobs(const std::string& root, std::vector<std::string>* errors) {
  std::vector<CatalogJob> all;
  for (const std::string& dir : DatabaseDirs(root)) {
    auto entries = EntriesIn(dir);
    if (!entries.ok()) {
      errors->push_back("cannot read the lineage log " + dir + ": " + entries.status().ToString());
      continue;
    }
    for (CatalogJob& entry : *entries) all.push_back(std::move(entry));
  }
  std::stable_sort(all.begin(), all.end(), [](const CatalogJob& a, const CatalogJob& b) {
    return a.job.start_ms < b.job.start_ms;
  });
  return all;
}

StatusOr<CatalogJob> FindLineageJob(const std::string& root, const std::string& uid) {
  // A node's database is named by its job's uid: look there first.
  std::string dir = root + "/" + uid;
  bool plain = !uid.empty() && uid.find('/') == std::string::npos && uid[0] != '.';
  if (plain && std::filesystem::is_directory(dir)) {
    auto entries = EntriesIn(dir);
    if (entries.ok()) {
      for (CatalogJob& entry : *entries) {
        if (entry.job.uid == uid) return std::move(entry);
      }
    }
  }
  std::vector<std::string> errors;
  for (CatalogJob& job : ListLineageJobs(root, &errors)) {
    if (job.job.uid == uid) return std::move(job);
  }
  std::string message = "no job " + uid + " in the lineage log " + root;
  if (!errors.empty()) message += " (" + errors.front() + ")";
  return NotFound(message);
}

StatusOr<std::vector<TaskInfo>> LineageTasksOf(const CatalogJob& job) {
  RAYX_ASSIGN_OR_RETURN(auto kv, OpenRocksDbKeyValueStoreReadOnly(job.db_path));
  LineageStore store(std::move(kv));
  return store.TasksOfJob(job.job.job_id);
}

size_t PruneLineage(const std::string& root, const RetentionPolicy& policy,
                    std::vector<std::string>* errors) {
  std::vector<CatalogJob> jobs = ListLineageJobs(root, errors);
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int64_t cutoff_ms = now_ms - policy.keep_days * 24 * 3600 * 1000;
  std::vector<std::string> remove;
  // Newest first: the first keep_jobs stay, while they fit in keep_bytes.
  size_t seen = 0;
  uint64_t bytes = 0;
  bool kept_ended = false;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    ++seen;
    bytes += DirectoryBytes(it->db_path);
    if (it->writer_alive) continue;
    int64_t ended = it->job.end_ms != 0 ? it->job.end_ms : it->job.start_ms;
    bool too_many = seen > policy.keep_jobs || (bytes > policy.keep_bytes && kept_ended);
    if (too_many || ended < cutoff_ms) {
      remove.push_back(it->db_path);
    } else {
      kept_ended = true;
    }
  }
  for (const std::string& dir : AbandonedDatabases(root)) remove.push_back(dir);
  size_t removed = 0;
  for (const std::string& dir : remove) {
    if (LineageDatabaseInUse(dir)) continue;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) {
      errors->push_back("cannot remove " + dir + ": " + ec.message());
    } else {
      ++removed;
    }
  }
  return removed;
}

size_t PruneLineageIfDue(const std::string& root, const RetentionPolicy& policy,
                         std::chrono::seconds min_interval, std::vector<std::string>* errors) {
  // The marker first: one stat, where LineageMayNeedPruning takes one per file.
  std::string marker = root + "/.pruned";
  std::error_code ec;
  auto last = std::filesystem::last_write_time(marker, ec);
  if (!ec && std::filesystem::file_time_type::clock::now() - last < min_interval) return 0;
  if (!LineageMayNeedPruning(root, policy)) return 0;
  size_t removed = PruneLineage(root, policy, errors);
  // Written after, so that a start that finds the marker fresh finds the pruning done.
  int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  return removed;
}

bool LineageMayNeedPruning(const std::string& root, const RetentionPolicy& policy) {
  std::vector<std::string> dirs = DatabaseDirs(root);
  if (dirs.size() > policy.keep_jobs) return true;
  auto cutoff = std::filesystem::file_time_type::clock::now() -
                std::chrono::hours(24 * std::max<int64_t>(0, policy.keep_days));
  uint64_t bytes = 0;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    auto written = std::filesystem::last_write_time(dir, ec);
    if (!ec && written < cutoff) return true;
    bytes += DirectoryBytes(dir);
  }
  // Over the budget with more than one database: an older one may go (the newest stays).
  return bytes > policy.keep_bytes && dirs.size() > 1;
}

RetentionPolicy RetentionFromEnvironment() {
  RetentionPolicy policy;
  policy.keep_jobs = static_cast<size_t>(EnvInt("RAYX_LINEAGE_KEEP_JOBS", policy.keep_jobs));
  policy.keep_days = EnvInt("RAYX_LINEAGE_KEEP_DAYS", policy.keep_days);
  policy.keep_bytes = static_cast<uint64_t>(
      EnvInt("RAYX_LINEAGE_KEEP_BYTES", static_cast<int64_t>(policy.keep_bytes)));
  return policy;
}

}  // namespace rayx
