// The cluster token: the shared secret every peer and observer proves it knows (engine/cluster/
// auth.h). It comes from --token-file or RAYX_CLUSTER_TOKEN; it is never sent and never logged.
#pragma once

#include <string>

#include "engine/base/status.h"

namespace rayx {

// The token from token_file when it is not empty (surrounding whitespace trimmed), else from
// $RAYX_CLUSTER_TOKEN, else "" (no token). A token file that cannot be read, or is empty, is an
// error.
StatusOr<std::string> LoadClusterToken(const std::string& token_file);

// Whether host is a loopback address (127.0.0.0/8, "localhost"): a node may listen there without
// a token. Listening anywhere else without one is refused.
bool IsLoopbackHost(const std::string& host);

}  // namespace rayx
