// ClusterWork's share of ray.util.list_named_actors: every other live member is asked for its
// named actors at once, and the union goes back once each has answered or died (cluster_work.h).
#include <utility>

#include "engine/base/logging.h"
#include "engine/node/cluster_work.h"
#include "engine/node/cluster_work_records.h"
#include "engine/wire/messages.h"

namespace rayx {

void ClusterWork::ListNamesElsewhere(const std::string& ns, bool all_namespaces,
                                     NamedActorsFn done) {
  auto listing = std::make_shared<NameListing>();
  listing->done = std::move(done);
  std::vector<std::pair<uint64_t, Peer*>> asked;
  for (const auto& [id, member] : cluster_->peers()) {
    if (!member.alive || dead_.count(id) != 0) continue;
    Peer* peer = PeerFor(id);
    if (peer == nullptr) continue;
    uint64_t request_id = next_request_++;
    listings_[request_id] = ListingRequest{id, listing};
    asked.emplace_back(request_id, peer);
  }
  listing->left = asked.size();
  if (asked.empty()) {
    listing->done(NamedActorEntries{});
    return;
  }
  // Sent once every request is recorded: a link that fails inside Send finishes only its own.
  for (const auto& [request_id, peer] : asked) {
    flatbuffers::FlatBufferBuilder b(128);
    auto request = wire::CreateListNamedActors(b, request_id, b.CreateString(ns), all_namespaces);
    peer->client->Send(FinishEnvelope(b, request));
  }
}

void ClusterWork::OnNamedActorList(const NodeID& from, uint64_t request_id,
                                   const wire::NamedActorList* list) {
  auto it = listings_.find(request_id);
  if (it == listings_.end() || it->second.node != from) return;
  std::shared_ptr<NameListing> listing = std::move(it->second.listing);
  listings_.erase(it);
  if (list != nullptr && listing->error.ok()) {
    StatusOr<NamedActorEntries> entries = NamedActorsFromWire(list);
    Status merged = entries.ok() ? MergeNamedActors(&listing->entries, *entries) : entries.status();
    if (!merged.ok()) {
      RAYX_LOG(Warning) << "cluster: listing named actors on " << from.Hex() << ": " << merged;
      listing->error = merged;
    }
  }
  // A member that died (list null) had its actors die with it: nothing of it is listed.
  if (--listing->left != 0) return;
  if (listing->error.ok()) {
    listing->done(std::move(listing->entries));
  } else {
    listing->done(listing->error);
  }
}

}  // namespace rayx
