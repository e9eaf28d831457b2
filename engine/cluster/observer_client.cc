#include "engine/cluster/observer_client.h"

#include "engine/cluster/blocking_dial.h"
#include "engine/cluster/member_wire.h"
#include "engine/cluster/peer_wire.h"

namespace rayx {

StatusOr<std::vector<MemberState>> QueryMembers(const std::string& address,
                                                const std::string& token, int timeout_ms) {
  RAYX_ASSIGN_OR_RETURN(int fd, DialTcp(address, timeout_ms));
  BlockingLink link(fd, timeout_ms);
  RAYX_RETURN_IF_ERROR(link.Authenticate(token, peer::LinkPurpose::Observer));
  flatbuffers::FlatBufferBuilder b(32);
  RAYX_RETURN_IF_ERROR(link.Send(FinishPeer(b, peer::CreateStatusRequest(b))));
  RAYX_ASSIGN_OR_RETURN(std::string frame, link.Receive());
  RAYX_ASSIGN_OR_RETURN(const peer::PeerEnvelope* envelope, ParsePeer(frame));
  const peer::StatusReply* reply = envelope->message_as_StatusReply();
  if (reply == nullptr || reply->members() == nullptr) return ProtocolError("expected StatusReply");
  std::vector<MemberState> members;
  for (const peer::MemberInfo* info : *reply->members()) {
    RAYX_ASSIGN_OR_RETURN(MemberState m, UnpackMember(info));
    members.push_back(std::move(m));
  }
  return members;
}

}  // namespace rayx
