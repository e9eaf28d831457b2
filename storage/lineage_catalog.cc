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

std::vector<CatalogJob> ListLineageJobs(const std::string& root, std::vector<std::string>* errors) {
  std::vector<CatalogJob> all;
  for (const std::string& dir : DatabaseDirs(root)) {
    bool alive = LineageDatabaseInUse(dir);
    auto jobs = JobsIn(dir);
    if (!jobs.ok()) {
      errors->push_back("cannot read the lineage log " + dir + ": " + jobs.status().ToString());
      continue;
    }
    for (JobInfo& job : *jobs) {
      // POSIX locks do not conflict within their own process: a job of this process is alive
      // while its database stays locked here.
      if (job.pid == getpid() && job.state == JobInfo::State::kRunning) alive = true;
      CatalogJob entry;
      if (!alive && job.state == JobInfo::State::kRunning) job.state = JobInfo::State::kFailed;
      entry.job = std::move(job);
      entry.db_path = dir;
      entry.writer_alive = alive;
      all.push_back(std::move(entry));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const CatalogJob& a, const CatalogJob& b) {
    return a.job.start_ms < b.job.start_ms;
  });
  return all;
}

StatusOr<CatalogJob> FindLineageJob(const std::string& root, const std::string& uid) {
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
  // Newest first: the first keep_jobs stay.
  size_t seen = 0;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    ++seen;
    if (it->writer_alive) continue;
    int64_t ended = it->job.end_ms != 0 ? it->job.end_ms : it->job.start_ms;
    if (seen > policy.keep_jobs || ended < cutoff_ms) remove.push_back(it->db_path);
  }
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

RetentionPolicy RetentionFromEnvironment() {
  RetentionPolicy policy;
  policy.keep_jobs = static_cast<size_t>(EnvInt("RAYX_LINEAGE_KEEP_JOBS", policy.keep_jobs));
  policy.keep_days = EnvInt("RAYX_LINEAGE_KEEP_DAYS", policy.keep_days);
  return policy;
}

}  // namespace rayx
