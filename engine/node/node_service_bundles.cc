// NodeService: the BundleRequests of members that reserve placement group bundles here
// (bundle_host.h, placement_group_manager.h), checked and handed to the BundleHost.
#include "engine/node/bundle_wire.h"
#include "engine/node/node_service.h"
#include "engine/node/node_service_session.h"
#include "engine/sched/placement_group_resources.h"

namespace rayx {

Status NodeService::HandleBundleRequest(Session* session, const wire::BundleRequest* request) {
  if (session->role != wire::Role::Node || session->origin != ClientOrigin::kMember ||
      session->member_id.IsNil()) {
    return ProtocolError("only a member may ask for placement group bundles");
  }
  StatusOr<BundleRequestFields> fields = ReadBundleRequest(request);
  if (!fields.ok()) return ProtocolError(fields.status().message());
  const std::string hex = PlacementGroupHex(fields->group_id);
  std::vector<int> indexes;
  for (const auto& [index, amounts] : fields->bundles) indexes.push_back(index);
  switch (fields->op) {
    case wire::BundleOp::Prepare: {
      std::string error;
      if (bundle_host_ == nullptr) {
        error = "this node holds no placement group bundles";
      } else if (!bundle_host_->Prepare(session->member_id, hex, fields->bundles)) {
        error = "the bundles do not fit what is free here now";
      }
      session->connection->Send(BundleReplyFrame(fields->request_id, error));
      return Status::OK();
    }
    case wire::BundleOp::Commit:
      if (bundle_host_ != nullptr) bundle_host_->Commit(session->member_id, hex, indexes);
      return Status::OK();
    case wire::BundleOp::Return:
      if (bundle_host_ != nullptr) {
        bundle_host_->Return(session->member_id, hex, indexes,
                             fields->why.empty() ? "its placement group was removed" : fields->why);
      }
      return Status::OK();
  }
  return ProtocolError("BundleRequest: unknown op");
}

}  // namespace rayx
