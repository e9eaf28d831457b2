// The BundleRequest and BundleReply messages of protocol.fbs (placement group bundles held on
// members): built by the node that creates a group, read and checked by the member that holds
// its bundles.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/sched/resource_set.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

// The most bundles one request may name, and the highest bundle index: more is a hostile peer's.
inline constexpr size_t kMaxBundlesPerRequest = 1u << 14;

struct BundleRequestFields {
  uint64_t request_id = 0;
  wire::BundleOp op = wire::BundleOp::Prepare;
  std::string group_id;                              // kPlacementGroupIdSize raw bytes.
  std::vector<std::pair<int, ResourceSet>> bundles;  // (index, amounts; empty unless Prepare).
  std::string why;
};

// The frame (an envelope) of a request, ready to send.
std::string BundleRequestFrame(const BundleRequestFields& fields);
// Reads a verified request: InvalidArgument for a group id of the wrong size, too many bundles,
// an index out of range, an unknown op or bad amounts (which a correct member never sends).
StatusOr<BundleRequestFields> ReadBundleRequest(const wire::BundleRequest* request);
// The frame of a reply: error empty when the bundles are prepared.
std::string BundleReplyFrame(uint64_t request_id, const std::string& error);

}  // namespace rayx
