// Conversions between the node's StoredValue and the wire's ObjectValue, and the system errors the
// node itself produces (a dead worker, a cancelled task); resource amounts read off the wire.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/wire/protocol_generated.h"
#include "engine/wire/values.h"

namespace rayx {

// A system error value: its data is the text "CODE: message" (engine/wire/values.h).
StoredValue SystemErrorValue(SystemErrorCode code, const std::string& message);

// The error value a task or call gets when its argument failed: the argument's own error, which
// holds no references of its own.
StoredValue PropagatedError(const StoredValue& failed_argument);

// Reads an incoming value; ids it contains are unpacked and checked. ProtocolError for inline data
// over kMaxInlineValueSize.
StatusOr<StoredValue> StoredValueFromWire(const wire::ObjectValue* value);

// Resource amounts from a message (absent: none), checked as a demand a task or actor may make.
StatusOr<ResourceSet> ResourcesFromWire(
    const flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>* amounts);

// The amounts of set, as a message carries them (ResourcesFromWire reads them back).
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> ResourcesToWire(
    flatbuffers::FlatBufferBuilder& builder, const ResourceSet& set);

// An upper bound of the bytes StoredValueToWire adds to a message for value.
size_t StoredValueWireBound(const StoredValue& value);

// location: for a value in shared memory on another node than the reader's (ObjectValue.location).
flatbuffers::Offset<wire::ObjectValue> StoredValueToWire(flatbuffers::FlatBufferBuilder& builder,
                                                         const ObjectID& id,
                                                         const StoredValue& value,
                                                         const NodeID* location = nullptr);

}  // namespace rayx
