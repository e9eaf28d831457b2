#include "cli/replay_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/lineage_text.h"
#include "storage/lineage_catalog.h"

namespace rayx::cli {
namespace {

void Replay(const std::string& uid) {
  auto found = FindLineageJob(MachineLineageRoot(), uid);
  if (!found.ok()) {
    std::fprintf(stderr, "rayx replay: %s\n", found.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  const JobInfo& job = found->job;
  if (job.argv.size() < 2) {
    std::fprintf(stderr, "rayx replay: job %s has no command line in its log %s\n", uid.c_str(),
                 found->db_path.c_str());
    throw CLI::RuntimeError(1);
  }
  if (found->writer_alive)
    std::fprintf(stderr, "rayx replay: warning: job %s is still running\n", uid.c_str());
  if (!job.working_dir.empty() && chdir(job.working_dir.c_str()) != 0) {
    std::fprintf(stderr, "rayx replay: cannot enter the job's working directory %s: %s\n",
                 job.working_dir.c_str(), std::strerror(errno));
    throw CLI::RuntimeError(1);
  }
  for (const char* name : {"PYTHONPATH", "VIRTUAL_ENV"}) unsetenv(name);
  for (const std::string& var : job.env) {
    size_t eq = var.find('=');
    if (eq != std::string::npos) setenv(var.substr(0, eq).c_str(), var.substr(eq + 1).c_str(), 1);
  }
  setenv("RAYX_REPLAY_OF", uid.c_str(), 1);
  std::vector<char*> argv;
  for (const std::string& arg : job.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "rayx replay: cannot run the job again: %s\n", std::strerror(errno));
  throw CLI::RuntimeError(1);
}

}  // namespace

void AddReplayCommand(CLI::App* app) {
  auto uid = std::make_shared<std::string>();
  CLI::App* replay = app->add_subcommand(
      "replay", "Run a logged job again, reusing the logged results of the tasks that finished.");
  replay->add_option("JOB_ID", *uid, "A job id from `rayx jobs`.")->required();
  replay->callback([uid]() { Replay(*uid); });
}

}  // namespace rayx::cli
