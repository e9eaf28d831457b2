// `rayx timeline JOB_ID [-o FILE]`: a logged job's tasks as Chrome trace events (the Trace Event
// Format's JSON array form, loadable in Perfetto and chrome://tracing): one row per worker, a
// complete event per run of a task with its name and duration, failures marked; reused tasks are
// instants on a row of their own.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "storage/lineage_store.h"

namespace rayx::cli {

// The trace of tasks, as a JSON array.
std::string TimelineJson(const std::vector<TaskInfo>& tasks);

void AddTimelineCommand(CLI::App* app);

}  // namespace rayx::cli
