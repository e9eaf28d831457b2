// Text helpers shared by the lineage subcommands (jobs, replay, timeline): JSON strings, times,
// and the lineage root of this machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rayx::cli {

// s as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);
// Milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS"; "-" for 0.
std::string LocalTime(int64_t ms);
// $RAYX_HOME/lineage.
std::string MachineLineageRoot();

}  // namespace rayx::cli
