// NodeService: placement group requests (PlacementGroupRequest), answered from
// PlacementGroupManager.
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
    std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts;
    for (const auto& [name, amount] : bundle.ToDoubles()) {
      amounts.push_back(wire::CreateResourceAmount(b, b.CreateString(name), amount));
    }
    bundles.push_back(wire::CreateBundle(b, b.CreateVector(amounts)));
  }
  const bool placed = !group.nodes.empty() && !group.nodes[0].IsNil();
  return wire::CreatePlacementGroupRecord(
      b, b.CreateVector(reinterpret_cast<const uint8_t*>(group.id.data()), group.id.size()),
      b.CreateString(group.name), b.CreateString(PlacementStrategyName(group.strategy)),
      static_cast<uint8_t>(group.state), b.CreateVector(bundles),
      placed ? b.CreateVector(group.nodes[0].data(), NodeID::kSize) : 0, group.detached,
      PackIds(b, group.nodes));
}

}  // namespace

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
  flatbuffers::FlatBufferBuilder b(512);
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
  std::vector<flatbuffers::Offset<wire::PlacementGroupRecord>> packed;
  for (const PlacementGroupManager::Group* group : groups) {
    packed.push_back(PackGroup(b, *group));
  }
  auto reply = wire::CreatePlacementGroupReply(
      b, request->request_id(), error.empty() ? 0 : b.CreateString(error), b.CreateVector(packed));
  session->connection->Send(FinishEnvelope(b, reply));
  return Status::OK();
}

}  // namespace rayx
