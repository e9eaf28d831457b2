#include "engine/node/named_actor_list.h"

#include <algorithm>

#include "engine/wire/messages.h"
#include "engine/wire/values.h"

namespace rayx {
namespace {

size_t BytesOfEntries(const NamedActorEntries& entries) {
  size_t bytes = 0;
  for (const auto& [ns, name] : entries) bytes += ns.size() + name.size();
  return bytes;
}

}  // namespace

Status MergeNamedActors(NamedActorEntries* into, const NamedActorEntries& more) {
  NamedActorEntries merged;
  merged.reserve(into->size() + more.size());
  std::set_union(into->begin(), into->end(), more.begin(), more.end(), std::back_inserter(merged));
  if (BytesOfEntries(merged) > kMaxNamedActorListBytes) {
    return InvalidArgument("more named actors than rayx lists at once (their names pass " +
                           std::to_string(kMaxNamedActorListBytes >> 20) + " MiB)");
  }
  *into = std::move(merged);
  return Status::OK();
}

StatusOr<NamedActorEntries> NamedActorsFromWire(const wire::NamedActorList* list) {
  if (list->error() != nullptr && list->error()->size() != 0) {
    return Unavailable(list->error()->str());
  }
  NamedActorEntries entries;
  if (list->actors() == nullptr) return entries;
  entries.reserve(list->actors()->size());
  for (const wire::NamedActor* actor : *list->actors()) {
    if (actor->name() == nullptr || actor->name()->size() == 0) {
      return ProtocolError("a named actor without a name in NamedActorList");
    }
    entries.emplace_back(StringOf(actor->namespace_()), actor->name()->str());
  }
  // A node sends them sorted and once each; a peer that does not is not trusted to.
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  return entries;
}

flatbuffers::Offset<wire::NamedActorList> NamedActorsToWire(
    flatbuffers::FlatBufferBuilder& b, uint64_t request_id,
    const StatusOr<NamedActorEntries>& listed) {
  if (!listed.ok()) {
    // The message may repeat a member's: cut so that the answer stays small.
    auto error = b.CreateString(listed.status().message().substr(0, kMaxErrorMessageSize));
    return wire::CreateNamedActorList(b, request_id, 0, error);
  }
  std::vector<flatbuffers::Offset<wire::NamedActor>> actors;
  actors.reserve(listed->size());
  for (const auto& [ns, name] : *listed) {
    actors.push_back(wire::CreateNamedActor(b, b.CreateString(ns), b.CreateString(name)));
  }
  return wire::CreateNamedActorList(b, request_id, b.CreateVector(actors));
}

}  // namespace rayx
