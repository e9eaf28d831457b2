// ObserverClient: what the command line uses to ask a member over TCP (`rayx status --address`,
// `rayx run --address`): a blocking socket, the same authentication as peers (purpose Observer,
// blocking_dial.h), then one StatusRequest. Every wait is bounded by timeout_ms.
//
// Thread-compatible; no event loop.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/cluster/member_table.h"

namespace rayx {

// The members as the node at address (HOST:PORT) knows them, that node first. A refused token is
// an error whose message says so.
StatusOr<std::vector<MemberState>> QueryMembers(const std::string& address,
                                                const std::string& token, int timeout_ms = 5000);

}  // namespace rayx
