#include "engine/cluster/member_wire.h"

#include <string>
#include <vector>

namespace rayx {
namespace {

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<peer::Amount>>> PackAmounts(
    flatbuffers::FlatBufferBuilder& b, const std::map<std::string, double>& amounts) {
  std::vector<flatbuffers::Offset<peer::Amount>> out;
  for (const auto& [name, amount] : amounts) {
    out.push_back(peer::CreateAmount(b, b.CreateString(name), amount));
  }
  return b.CreateVector(out);
}

std::map<std::string, double> UnpackAmounts(
    const flatbuffers::Vector<flatbuffers::Offset<peer::Amount>>* amounts) {
  std::map<std::string, double> out;
  if (amounts == nullptr) return out;
  for (const peer::Amount* a : *amounts) {
    if (a->name() != nullptr) out[a->name()->str()] = a->amount();
  }
  return out;
}

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

}  // namespace

flatbuffers::Offset<peer::MemberInfo> PackMember(flatbuffers::FlatBufferBuilder& b,
                                                 const MemberState& m) {
  auto id = b.CreateVector(m.id.data(), NodeID::kSize);
  auto address = b.CreateString(m.address);
  auto socket = b.CreateString(m.socket_path);
  auto total = PackAmounts(b, m.total);
  auto available = PackAmounts(b, m.available);
  return peer::CreateMemberInfo(b, id, address, m.pid, socket, m.alive, total, available,
                                m.store_used, m.store_capacity, m.running_tasks);
}

StatusOr<MemberState> UnpackMember(const peer::MemberInfo* info) {
  if (info == nullptr) return ProtocolError("missing member info");
  if (info->node_id() == nullptr || info->node_id()->size() != NodeID::kSize) {
    return ProtocolError("member info without a node id of the right size");
  }
  MemberState m;
  m.id = NodeID::FromBinary(
      std::string_view(reinterpret_cast<const char*>(info->node_id()->data()), NodeID::kSize));
  m.address = Str(info->address());
  m.pid = info->pid();
  m.socket_path = Str(info->socket_path());
  m.alive = info->alive();
  m.total = UnpackAmounts(info->total());
  m.available = UnpackAmounts(info->available());
  m.store_used = info->store_used();
  m.store_capacity = info->store_capacity();
  m.running_tasks = info->running_tasks();
  return m;
}

}  // namespace rayx
