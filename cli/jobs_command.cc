#include "cli/jobs_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/lineage_text.h"
#include "storage/lineage_catalog.h"

namespace rayx::cli {
namespace {

struct JobsFlags {
  bool json = false;
  bool prune = false;
  int64_t keep_jobs = -1;
  int64_t keep_days = -1;
  int64_t keep_bytes = -1;
};

const char* StateName(JobInfo::State state) {
  switch (state) {
    case JobInfo::State::kRunning:
      return "RUNNING";
    case JobInfo::State::kSucceeded:
      return "SUCCEEDED";
    case JobInfo::State::kFailed:
      return "FAILED";
  }
  return "UNKNOWN";
}

std::string JsonStrings(const std::vector<std::string>& strings) {
  std::string out = "[";
  for (size_t i = 0; i < strings.size(); ++i) out += (i ? ", " : "") + JsonString(strings[i]);
  return out + "]";
}

void PrintJson(const std::vector<CatalogJob>& jobs) {
  std::printf("[");
  for (size_t i = 0; i < jobs.size(); ++i) {
    const JobInfo& j = jobs[i].job;
    std::printf(
        "%s\n  {\"job_id\": %s, \"status\": \"%s\", \"start_ms\": %lld, \"end_ms\": %lld, "
        "\"script\": %s, \"argv\": %s, \"working_dir\": %s, \"env\": %s, \"pid\": %d, "
        "\"exit_code\": %d, \"tasks_finished\": %lld, \"tasks_failed\": %lld, "
        "\"tasks_reused\": %lld, \"replay_of\": %s, \"log\": %s}",
        i ? "," : "", JsonString(j.uid).c_str(), StateName(j.state),
        static_cast<long long>(j.start_ms), static_cast<long long>(j.end_ms),
        JsonString(j.script).c_str(), JsonStrings(j.argv).c_str(),
        JsonString(j.working_dir).c_str(), JsonStrings(j.env).c_str(), j.pid, j.exit_code,
        static_cast<long long>(j.tasks_finished), static_cast<long long>(j.tasks_failed),
        static_cast<long long>(j.tasks_reused),
        j.replay_of.empty() ? "null" : JsonString(j.replay_of).c_str(),
        JsonString(jobs[i].db_path).c_str());
  }
  std::printf("%s]\n", jobs.empty() ? "" : "\n");
}

void PrintTable(const std::vector<CatalogJob>& jobs) {
  std::printf("%-12s  %-9s  %-19s  %-19s  %8s  %6s  %6s  %s\n", "JOB_ID", "STATUS", "START", "END",
              "FINISHED", "FAILED", "REUSED", "SCRIPT");
  for (const CatalogJob& entry : jobs) {
    const JobInfo& j = entry.job;
    std::string script = j.script.substr(0, j.script.find('\n'));  // `-c CODE`: its first line.
    if (!j.replay_of.empty()) script += "  (replay of " + j.replay_of + ")";
    std::printf("%-12s  %-9s  %-19s  %-19s  %8lld  %6lld  %6lld  %s\n", j.uid.c_str(),
                StateName(j.state), LocalTime(j.start_ms).c_str(), LocalTime(j.end_ms).c_str(),
                static_cast<long long>(j.tasks_finished), static_cast<long long>(j.tasks_failed),
                static_cast<long long>(j.tasks_reused), script.c_str());
  }
}

void Jobs(const JobsFlags& flags) {
  std::string root = MachineLineageRoot();
  std::vector<std::string> errors;
  if (flags.prune) {
    RetentionPolicy policy = RetentionFromEnvironment();
    if (flags.keep_jobs >= 0) policy.keep_jobs = static_cast<size_t>(flags.keep_jobs);
    if (flags.keep_days >= 0) policy.keep_days = flags.keep_days;
    if (flags.keep_bytes >= 0) policy.keep_bytes = static_cast<uint64_t>(flags.keep_bytes);
    size_t removed = PruneLineage(root, policy, &errors);
    std::fprintf(stderr,
                 "rayx jobs: pruned %zu job logs (keeping the newest %zu, none older than %lld "
                 "days, at most %llu bytes)\n",
                 removed, policy.keep_jobs, static_cast<long long>(policy.keep_days),
                 static_cast<unsigned long long>(policy.keep_bytes));
  }
  std::vector<CatalogJob> jobs = ListLineageJobs(root, &errors);
  if (flags.json) {
    PrintJson(jobs);
  } else {
    PrintTable(jobs);
  }
  for (const std::string& error : errors) std::fprintf(stderr, "rayx jobs: %s\n", error.c_str());
  if (!errors.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void AddJobsCommand(CLI::App* app) {
  auto flags = std::make_shared<JobsFlags>();
  CLI::App* jobs = app->add_subcommand(
      "jobs", "List the jobs in this machine's lineage log ($RAYX_HOME/lineage), oldest first.");
  jobs->add_flag("--json", flags->json, "A JSON list of objects (job_id, status, ...).");
  jobs->add_flag("--prune", flags->prune,
                 "First remove the logs of ended jobs beyond the newest --keep (default 1000, "
                 "$RAYX_LINEAGE_KEEP_JOBS), older than --keep-days (default 30, "
                 "$RAYX_LINEAGE_KEEP_DAYS), or past --keep-bytes with the newer ones (default "
                 "10 GiB, $RAYX_LINEAGE_KEEP_BYTES; the newest ended job stays).");
  jobs->add_option("--keep", flags->keep_jobs, "With --prune: how many jobs to keep.");
  jobs->add_option("--keep-days", flags->keep_days, "With --prune: how many days to keep.");
  jobs->add_option("--keep-bytes", flags->keep_bytes,
                   "With --prune: how many bytes the kept logs may take together.");
  jobs->callback([flags]() { Jobs(*flags); });
}

}  // namespace rayx::cli
