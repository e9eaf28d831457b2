#include "engine/node/bundle_wire.h"

#include <flatbuffers/flatbuffers.h>

#include "engine/node/wire_values.h"
#include "engine/sched/placement_group_resources.h"
#include "engine/wire/messages.h"

namespace rayx {

std::string BundleRequestFrame(const BundleRequestFields& fields) {
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::IndexedBundle>> bundles;
  for (const auto& [index, amounts] : fields.bundles) {
    bundles.push_back(wire::CreateIndexedBundle(
        b, static_cast<uint32_t>(index), amounts.IsEmpty() ? 0 : ResourcesToWire(b, amounts)));
  }
  auto id = b.CreateVector(reinterpret_cast<const uint8_t*>(fields.group_id.data()),
                           fields.group_id.size());
  auto request = wire::CreateBundleRequest(b, fields.request_id, fields.op, id,
                                           b.CreateVector(bundles), b.CreateString(fields.why));
  return std::string(FinishEnvelope(b, request));
}

StatusOr<BundleRequestFields> ReadBundleRequest(const wire::BundleRequest* request) {
  BundleRequestFields fields;
  fields.request_id = request->request_id();
  fields.op = request->op();
  if (fields.op != wire::BundleOp::Prepare && fields.op != wire::BundleOp::Commit &&
      fields.op != wire::BundleOp::Return) {
    return InvalidArgument("BundleRequest: unknown op");
  }
  fields.group_id = std::string(BytesOf(request->group_id()));
  if (fields.group_id.size() != kPlacementGroupIdSize) {
    return InvalidArgument("BundleRequest: a group id has " +
                           std::to_string(kPlacementGroupIdSize) + " bytes");
  }
  fields.why = StringOf(request->why());
  if (request->bundles() == nullptr) return fields;
  if (request->bundles()->size() > kMaxBundlesPerRequest) {
    return InvalidArgument("BundleRequest: too many bundles");
  }
  for (const wire::IndexedBundle* bundle : *request->bundles()) {
    if (bundle->index() >= kMaxBundlesPerRequest) {
      return InvalidArgument("BundleRequest: bundle index out of range");
    }
    RAYX_ASSIGN_OR_RETURN(ResourceSet amounts, ResourcesFromWire(bundle->resources()));
    if (fields.op == wire::BundleOp::Prepare && amounts.IsEmpty()) {
      return InvalidArgument("BundleRequest: an empty bundle");
    }
    fields.bundles.emplace_back(static_cast<int>(bundle->index()), std::move(amounts));
  }
  return fields;
}

std::string BundleReplyFrame(uint64_t request_id, const std::string& error) {
  flatbuffers::FlatBufferBuilder b(128);
  auto reply = wire::CreateBundleReply(b, request_id, error.empty() ? 0 : b.CreateString(error));
  return std::string(FinishEnvelope(b, reply));
}

}  // namespace rayx
