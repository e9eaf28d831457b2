#include "engine/node/wire_values.h"

#include "engine/sched/node_resources.h"
#include "engine/wire/messages.h"

namespace rayx {

static_assert(static_cast<int>(ValueKind::kValue) == static_cast<int>(wire::ValueKind::Value) &&
                  static_cast<int>(ValueKind::kTaskError) ==
                      static_cast<int>(wire::ValueKind::TaskError) &&
                  static_cast<int>(ValueKind::kSystemError) ==
                      static_cast<int>(wire::ValueKind::SystemError),
              "ValueKind must number its kinds as protocol.fbs does");

StoredValue SystemErrorValue(SystemErrorCode code, const std::string& message) {
  StoredValue value;
  value.kind = ValueKind::kSystemError;
  value.inline_data = SystemErrorText(code, message);
  return value;
}

StoredValue PropagatedError(const StoredValue& failed_argument) {
  StoredValue error = failed_argument;
  error.contained.clear();
  error.contained_actors.clear();
  return error;
}

StatusOr<StoredValue> StoredValueFromWire(const wire::ObjectValue* wire_value) {
  if (wire_value == nullptr) return ProtocolError("missing object value");
  StoredValue value;
  switch (wire_value->kind()) {
    case wire::ValueKind::Value:
      value.kind = ValueKind::kValue;
      break;
    case wire::ValueKind::TaskError:
      value.kind = ValueKind::kTaskError;
      break;
    case wire::ValueKind::SystemError:
      value.kind = ValueKind::kSystemError;
      break;
    default:
      return ProtocolError("unknown value kind");
  }
  value.in_shm = wire_value->in_shm();
  value.shm_size = wire_value->shm_size();
  if (!value.in_shm) {
    std::string_view data = BytesOf(wire_value->data());
    if (data.size() > kMaxInlineValueSize) {
      return ProtocolError("an inline value of " + std::to_string(data.size()) +
                           " bytes is over the limit of " + std::to_string(kMaxInlineValueSize));
    }
    value.inline_data = std::string(data);
  }
  RAYX_ASSIGN_OR_RETURN(value.contained, UnpackIds<ObjectID>(wire_value->contained()));
  RAYX_ASSIGN_OR_RETURN(value.contained_actors, UnpackIds<ActorID>(wire_value->contained_actors()));
  return value;
}

size_t StoredValueWireBound(const StoredValue& value) {
  // The table, its vtable, the id vector and the alignment padding take well under 128 bytes.
  constexpr size_t kOverhead = 128 + ObjectID::kSize;
  return kOverhead + (value.in_shm ? 0 : value.inline_data.size());
}

flatbuffers::Offset<wire::ObjectValue> StoredValueToWire(flatbuffers::FlatBufferBuilder& builder,
                                                         const ObjectID& id,
                                                         const StoredValue& value,
                                                         const NodeID* location) {
  auto id_offset = builder.CreateVector(id.data(), ObjectID::kSize);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> where;
  if (location != nullptr) where = builder.CreateVector(location->data(), NodeID::kSize);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
  if (!value.in_shm) {
    data = builder.CreateVector(reinterpret_cast<const uint8_t*>(value.inline_data.data()),
                                value.inline_data.size());
  }
  // The references inside: a member that reads the value borrows those it does not know.
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> contained, contained_actors;
  if (!value.contained.empty()) contained = PackIds(builder, value.contained);
  if (!value.contained_actors.empty()) contained_actors = PackIds(builder, value.contained_actors);
  wire::ObjectValueBuilder b(builder);
  b.add_object_id(id_offset);
  if (!contained.IsNull()) b.add_contained(contained);
  if (!contained_actors.IsNull()) b.add_contained_actors(contained_actors);
  b.add_kind(static_cast<wire::ValueKind>(value.kind));
  if (!value.in_shm) b.add_data(data);
  b.add_in_shm(value.in_shm);
  b.add_shm_size(value.shm_size);
  if (location != nullptr) b.add_location(where);
  return b.Finish();
}

StatusOr<ResourceSet> ResourcesFromWire(
    const flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>* amounts) {
  // Read straight into the set (every task's demand comes this way): a name given twice takes its
  // last amount, as a map built first would, once each is checked.
  ResourceSet set;
  if (amounts != nullptr) {
    for (const auto* r : *amounts)
      RAYX_RETURN_IF_ERROR(set.SetChecked(StringOf(r->name()), r->amount()));
  }
  RAYX_RETURN_IF_ERROR(NodeResources::Validate(set));
  return set;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> ResourcesToWire(
    flatbuffers::FlatBufferBuilder& b, const ResourceSet& set) {
  // Straight from the set's units: no map of doubles is built for each message.
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts;
  amounts.reserve(set.units().size());
  for (const auto& [name, units] : set.units()) {
    amounts.push_back(wire::CreateResourceAmount(
        b, b.CreateString(name), static_cast<double>(units) / ResourceSet::kUnitsPerWhole));
  }
  return b.CreateVector(amounts);
}

}  // namespace rayx
