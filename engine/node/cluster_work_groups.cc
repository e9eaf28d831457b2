// ClusterWork's share of placement groups (placement_group_manager.h): the member links that carry
// BundleRequests and PlacementGroupRequests, the views of the members that bundles are placed
// by, and placing waiting tasks again when a member's totals change (cluster_work.h).
#include <utility>

#include "engine/node/cluster_work.h"
#include "engine/node/cluster_work_records.h"

namespace rayx {

bool ClusterWork::AskPlacementGroups(const NodeID& node,
                                     const std::function<std::string(uint64_t)>& frame_for,
                                     std::function<void(std::string_view)> done) {
  if (closed_) return false;
  Peer* peer = PeerFor(node);
  if (peer == nullptr) return false;
  uint64_t request_id = next_request_++;
  group_asks_[request_id] = GroupAsk{node, std::move(done)};
  peer->client->Send(frame_for(request_id));
  return true;
}

std::vector<NodeID> ClusterWork::LiveMembers() {
  std::vector<NodeID> out;
  for (const auto& [id, member] : cluster_->peers()) {
    if (member.alive && dead_.count(id) == 0 && id != self_) out.push_back(id);
  }
  return out;
}

bool ClusterWork::SendToMember(const NodeID& node, std::string_view frame) {
  if (closed_) return false;
  Peer* peer = PeerFor(node);
  if (peer == nullptr) return false;
  peer->client->Send(frame);
  return true;
}

void ClusterWork::SetBundleListeners(
    std::function<void(const NodeID&, const wire::BundleReply*)> on_reply,
    std::function<void(const NodeID&)> on_lost) {
  on_bundle_reply_ = std::move(on_reply);
  on_member_lost_ = std::move(on_lost);
}

std::vector<std::pair<NodeID, std::pair<ResourceSet, ResourceSet>>> ClusterWork::MemberViews() {
  std::vector<std::pair<NodeID, std::pair<ResourceSet, ResourceSet>>> out;
  for (const auto& [id, member] : cluster_->peers()) {
    View* view = Usable(id, ResourceSet());
    if (view != nullptr) out.push_back({id, {view->total, view->available}});
  }
  return out;
}

void ClusterWork::NoteReserved(const NodeID& node, const ResourceSet& derived, bool added) {
  View* view = Usable(node, ResourceSet());
  if (view == nullptr) return;
  if (added) {
    view->total.Add(derived);
    view->available.Add(derived);
  } else {
    view->total.Subtract(derived);
    view->available.Subtract(derived);
  }
}

void ClusterWork::OnMemberTotals(const NodeID& id) {
  if (closed_ || dead_.count(id) != 0) return;
  tasks_->RetryInfeasible();
}

}  // namespace rayx
