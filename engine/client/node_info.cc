#include "engine/client/node_info.h"

#include <flatbuffers/flatbuffers.h>

#include "engine/wire/messages.h"

namespace rayx {

namespace {

void AddAmounts(const flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>* amounts,
                std::map<std::string, double>* into) {
  if (amounts == nullptr) return;
  for (const auto* amount : *amounts) (*into)[StringOf(amount->name())] += amount->amount();
}

}  // namespace

StatusOr<std::vector<NodeDescription>> ParseInfoReply(std::string_view frame) {
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::InfoReply* reply = envelope->message_as_InfoReply();
  if (reply == nullptr || reply->nodes() == nullptr) return ProtocolError("malformed InfoReply");
  std::vector<NodeDescription> nodes;
  nodes.reserve(reply->nodes()->size());
  for (const auto* node : *reply->nodes()) {
    NodeDescription d;
    RAYX_ASSIGN_OR_RETURN(d.id, UnpackId<NodeID>(node->node_id()));
    d.alive = node->alive();
    d.address = StringOf(node->address());
    AddAmounts(node->total(), &d.total);
    AddAmounts(node->available(), &d.available);
    nodes.push_back(std::move(d));
  }
  return nodes;
}

StatusOr<StoreStats> ParseStoreStats(std::string_view frame) {
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::ObjectStoreStatsReply* r = envelope->message_as_ObjectStoreStatsReply();
  if (r == nullptr) return ProtocolError("expected ObjectStoreStatsReply");
  StoreStats s;
  s.capacity = r->capacity();
  s.used = r->used();
  s.num_objects = r->num_objects();
  s.num_in_memory = r->num_in_memory();
  s.num_spilled = r->num_spilled();
  s.spilled_bytes = r->spilled_bytes();
  s.spill_count = r->spill_count();
  s.spill_bytes_total = r->spill_bytes_total();
  s.restore_count = r->restore_count();
  s.restore_bytes_total = r->restore_bytes_total();
  s.store_dir = StringOf(r->store_dir());
  s.spill_dir = StringOf(r->spill_dir());
  s.lineage_tasks = r->lineage_tasks();
  s.rebuilt_tasks = r->rebuilt_tasks();
  return s;
}

StatusOr<std::vector<NodeDescription>> QueryNodes(NodeChannel* channel) {
  uint64_t request_id = channel->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  RAYX_ASSIGN_OR_RETURN(
      std::string frame,
      channel->Call(request_id, FinishEnvelope(b, wire::CreateInfoRequest(b, request_id))));
  return ParseInfoReply(frame);
}

}  // namespace rayx
