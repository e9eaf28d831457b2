// `rayx jobs [--json] [--prune]`: every job in this machine's lineage log ($RAYX_HOME/lineage),
// oldest first, with its status (RUNNING, SUCCEEDED, FAILED; a job whose driver died reads FAILED)
// and task counts. --prune removes the logs that the retention policy no longer keeps.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddJobsCommand(CLI::App* app);

}  // namespace rayx::cli
