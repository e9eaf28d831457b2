// `rayx replay JOB_ID`: runs a logged job's script again as it is now on disk, with the job's
// command line, working directory, PYTHONPATH and VIRTUAL_ENV. The new process's node reads the
// job's log (RAYX_REPLAY_OF) and gives a task whose id, function id and argument hash match a
// logged success its logged result without running it; actor creations and calls always run. The
// replay is a job of its own, linked to the one it replays, and ends with a summary on stderr and
// the script's exit status.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddReplayCommand(CLI::App* app);

}  // namespace rayx::cli
