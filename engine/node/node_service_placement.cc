// NodeService: placement group requests (PlacementGroupRequest), answered from
// PlacementGroupManager, and from the other members for the groups they coordinate.
#include <flatbuffers/flatbuffers.h>

#include "engine/node/node_service.h"
#include "engine/node/node_service_session.h"
#include "engine/node/wire_values.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

std::string ErrorText(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
      return "InvalidArgument: " + status.message();
    case StatusCode::kNotFound:
      return "NotFound: " + status.message();
    case StatusCode::kFailedPrecondition:  // What rayx cannot do (none now; kept for the API).
      return "NotImplemented: " + status.message();
    default:
      return "Internal: " + status.ToString();
  }
}

flatbuffers::Offset<wire::PlacementGroupRecord> PackGroup(
    flatbuffers::FlatBufferBuilder& b, const PlacementGroupManager::Group& group) {
  std::vector<flatbuffers::Offset<wire::Bundle>> bundles;
  for (const ResourceSet& bundle : group.bundles) {
    bundles.push_back(wire::CreateBundle(b, ResourcesToWire(b, bundle)));
  }
  const bool placed = !group.nodes.empty() && !group.nodes[0].IsNil();
  return wire::CreatePlacementGroupRecord(
      b, b.CreateVector(reinterpret_cast<const uint8_t*>(group.id.data()), group.id.size()),
      b.CreateString(group.name), b.CreateString(PlacementStrategyName(group.strategy)),
      static_cast<uint8_t>(group.state), b.CreateVector(bundles),
      placed ? b.CreateVector(group.nodes[0].data(), NodeID::kSize) : 0, group.detached,
      PackIds(b, group.nodes));
}

// A group as a member's PlacementGroupReply describes it.
StatusOr<PlacementGroupManager::Group> GroupFromRecord(const wire::PlacementGroupRecord* record) {
  PlacementGroupManager::Group group;
  group.id = std::string(BytesOf(record->id()));
  if (group.id.size() != kPlacementGroupIdSize) return InvalidArgument("a bad group id");
  group.hex = PlacementGroupHex(group.id);
  group.name = StringOf(record->name());
  RAYX_ASSIGN_OR_RETURN(group.strategy, ParsePlacementStrategy(StringOf(record->strategy())));
  if (record->state() > static_cast<uint8_t>(PlacementGroupManager::State::kRescheduling)) {
    return InvalidArgument("a bad group state");
  }
  group.state = static_cast<PlacementGroupManager::State>(record->state());
  if (record->bundles() != nullptr) {
    for (const wire::Bundle* bundle : *record->bundles()) {
      RAYX_ASSIGN_OR_RETURN(ResourceSet amounts, ResourcesFromWire(bundle->resources()));
      group.bundles.push_back(std::move(amounts));
    }
  }
  RAYX_ASSIGN_OR_RETURN(group.nodes, UnpackIds<NodeID>(record->bundle_nodes()));
  group.nodes.resize(group.bundles.size());
  group.detached = record->detached();
  return group;
}

std::string RequestFrame(uint64_t request_id, wire::PlacementGroupOp op, const std::string& id,
                         const std::string& name) {
  flatbuffers::FlatBufferBuilder b(128);
  auto record = wire::CreatePlacementGroupRecord(
      b, b.CreateVector(reinterpret_cast<const uint8_t*>(id.data()), id.size()),
      b.CreateString(name));
  return std::string(
      FinishEnvelope(b, wire::CreatePlacementGroupRequest(b, request_id, op, record)));
}

}  // namespace

struct NodeService::GroupQuery {
  uint64_t session_key = 0;
  uint64_t request_id = 0;
  wire::PlacementGroupOp op = wire::PlacementGroupOp::Get;
  std::string id, name;
  std::string error;                                // This node's answer, when no member knows it.
  std::vector<NodeID> left;                         // Members not asked yet.
  std::vector<PlacementGroupManager::Group> found;  // The members' groups.
  bool done = false;                                // A Get or Remove that a member answered.
};

void NodeService::AskNextMember(std::shared_ptr<GroupQuery> query) {
  while (!query->done && !query->left.empty() && cluster_work_ != nullptr) {
    NodeID node = query->left.back();
    query->left.pop_back();
    auto asked = cluster_work_->AskPlacementGroups(
        node,
        [&](uint64_t request_id) {
          return RequestFrame(request_id, query->op, query->id, query->name);
        },
        [this, query](std::string_view frame) {
          StatusOr<const wire::Envelope*> envelope = ParseEnvelope(frame);
          if (envelope.ok() && (*envelope)->message_type() == wire::Message::PlacementGroupReply) {
            const wire::PlacementGroupReply* reply = (*envelope)->message_as_PlacementGroupReply();
            const bool answered = reply->error() == nullptr || reply->error()->size() == 0;
            if (answered && reply->groups() != nullptr) {
              for (const wire::PlacementGroupRecord* record : *reply->groups()) {
                StatusOr<PlacementGroupManager::Group> group = GroupFromRecord(record);
                if (group.ok()) query->found.push_back(std::move(*group));
              }
            }
            if (answered && query->op != wire::PlacementGroupOp::Table) query->done = true;
          }
          AskNextMember(query);
        });
    if (asked) return;  // Its answer goes on.
  }
  std::vector<const PlacementGroupManager::Group*> groups;
  if (query->op == wire::PlacementGroupOp::Table && placement_groups_ != nullptr) {
    groups = placement_groups_->All();
  }
  for (const PlacementGroupManager::Group& group : query->found) groups.push_back(&group);
  ReplyGroups(query->session_key, query->request_id, query->done ? "" : query->error, groups);
}

void NodeService::ReplyGroups(uint64_t session_key, uint64_t request_id, const std::string& error,
                              const std::vector<const PlacementGroupManager::Group*>& groups) {
  auto session = sessions_.find(session_key);
  if (session == sessions_.end()) return;  // Gone meanwhile.
  flatbuffers::FlatBufferBuilder b(512);
  std::vector<flatbuffers::Offset<wire::PlacementGroupRecord>> packed;
  for (const PlacementGroupManager::Group* group : groups) packed.push_back(PackGroup(b, *group));
  auto reply = wire::CreatePlacementGroupReply(
      b, request_id, error.empty() ? 0 : b.CreateString(error), b.CreateVector(packed));
  session->second->connection->Send(FinishEnvelope(b, reply));
}

StatusOr<const PlacementGroupManager::Group*> NodeService::CreatePlacementGroup(
    Session* session, const wire::PlacementGroupRecord* record) {
  PlacementGroupManager::Group group;
  group.id = std::string(BytesOf(record->id()));
  group.name = StringOf(record->name());
  RAYX_ASSIGN_OR_RETURN(group.strategy, ParsePlacementStrategy(StringOf(record->strategy())));
  if (record->bundles() != nullptr) {
    for (const wire::Bundle* bundle : *record->bundles()) {
      RAYX_ASSIGN_OR_RETURN(ResourceSet amounts, ResourcesFromWire(bundle->resources()));
      group.bundles.push_back(std::move(amounts));
    }
  }
  group.detached = record->detached();
  if (session->role == wire::Role::Driver && !group.detached) group.creator_session = session->key;
  return placement_groups_->Create(std::move(group));
}

Status NodeService::HandlePlacementGroup(Session* session,
                                         const wire::PlacementGroupRequest* request) {
  std::string error;
  std::vector<const PlacementGroupManager::Group*> groups;
  const wire::PlacementGroupRecord* record = request->group();
  std::string id = record != nullptr ? std::string(BytesOf(record->id())) : std::string();
  if (placement_groups_ == nullptr || record == nullptr) {
    error = placement_groups_ == nullptr ? "NotImplemented: this node has no placement groups"
                                         : "InvalidArgument: a request without a group";
  } else {
    switch (request->op()) {
      case wire::PlacementGroupOp::Create: {
        StatusOr<const PlacementGroupManager::Group*> created =
            CreatePlacementGroup(session, record);
        if (created.ok()) {
          groups.push_back(*created);
        } else {
          error = ErrorText(created.status());
        }
        break;
      }
      case wire::PlacementGroupOp::Remove: {
        Status removed = placement_groups_->Remove(id);
        if (!removed.ok()) error = ErrorText(removed);
        break;
      }
      case wire::PlacementGroupOp::Get: {
        const PlacementGroupManager::Group* group =
            id.empty() ? placement_groups_->FindByName(StringOf(record->name()))
                       : placement_groups_->Find(id);
        if (group == nullptr) {
          error = "NotFound: no placement group " +
                  (id.empty() ? "named '" + StringOf(record->name()) + "'" : PlacementGroupHex(id));
        } else {
          groups.push_back(group);
        }
        break;
      }
      case wire::PlacementGroupOp::Table:
        groups = placement_groups_->All();
        break;
      default:
        error = "InvalidArgument: unknown placement group operation";
        break;
    }
  }
  // Not one of this node's groups (or the table): the other members may know it.
  const bool ask_members =
      cluster_work_ != nullptr && session->role != wire::Role::Node && record != nullptr &&
      ((request->op() == wire::PlacementGroupOp::Table) ||
       (error.rfind("NotFound: ", 0) == 0 && (request->op() == wire::PlacementGroupOp::Get ||
                                              request->op() == wire::PlacementGroupOp::Remove)));
  if (ask_members) {
    auto query = std::make_shared<GroupQuery>();
    query->session_key = session->key;
    query->request_id = request->request_id();
    query->op = request->op();
    query->id = id;
    query->name = StringOf(record->name());
    query->error = error;
    query->left = cluster_work_->LiveMembers();
    if (!query->left.empty()) {
      AskNextMember(std::move(query));
      return Status::OK();
    }
  }
  ReplyGroups(session->key, request->request_id(), error, groups);
  return Status::OK();
}

}  // namespace rayx
