// The node's description of the cluster (InfoRequest / InfoReply), read into NodeDescriptions, and
// of its object store. Used by the client runtime and by rayx status.
#pragma once

#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/node_channel.h"

namespace rayx {

StatusOr<std::vector<NodeDescription>> QueryNodes(NodeChannel* channel);

// Reads an InfoReply frame (verified here).
StatusOr<std::vector<NodeDescription>> ParseInfoReply(std::string_view frame);

// Reads an ObjectStoreStatsReply frame (verified here).
StatusOr<StoreStats> ParseStoreStats(std::string_view frame);

}  // namespace rayx
