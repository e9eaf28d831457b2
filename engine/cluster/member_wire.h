// MemberState to and from peer::MemberInfo (engine/wire/peer.fbs).
#pragma once

#include <flatbuffers/flatbuffers.h>

#include "engine/base/status.h"
#include "engine/cluster/member_table.h"
#include "engine/wire/peer_generated.h"

namespace rayx {

flatbuffers::Offset<peer::MemberInfo> PackMember(flatbuffers::FlatBufferBuilder& b,
                                                 const MemberState& m);

// A MemberInfo without a well-formed node id is a ProtocolError.
StatusOr<MemberState> UnpackMember(const peer::MemberInfo* info);

}  // namespace rayx
