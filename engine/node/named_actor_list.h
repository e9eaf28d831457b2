// NamedActorList (protocol.fbs) to and from a sorted list of named actors, and the merge of the
// lists of several members: what ray.util.list_named_actors gets across a cluster.
//
// Thread: any; no state.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

// (namespace, name) pairs, sorted, each once.
using NamedActorEntries = std::vector<std::pair<std::string, std::string>>;

// Adds more to *into, keeping it sorted and each pair once (a name two members both gave, in the
// race of two creations, is listed once). InvalidArgument when the result's names and namespaces
// would pass kMaxNamedActorListBytes; *into is then unchanged.
Status MergeNamedActors(NamedActorEntries* into, const NamedActorEntries& more);

// The entries of a verified NamedActorList. Its error comes back as the status (Unavailable, with
// the member's words); an entry without a name is a ProtocolError (never sent by a node).
StatusOr<NamedActorEntries> NamedActorsFromWire(const wire::NamedActorList* list);

// Builds the answer to request_id: the entries, or the error of a failed listing.
flatbuffers::Offset<wire::NamedActorList> NamedActorsToWire(
    flatbuffers::FlatBufferBuilder& b, uint64_t request_id,
    const StatusOr<NamedActorEntries>& listed);

}  // namespace rayx
