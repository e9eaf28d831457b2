// NodeService's share of ray.util.list_named_actors: the names of this node's actors, and in a
// cluster those of every other member, merged (node_service.h).
#include <utility>

#include "engine/node/named_actor_list.h"
#include "engine/node/node_service.h"
#include "engine/node/node_service_session.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

void SendNamedActors(Connection* connection, uint64_t request_id,
                     const StatusOr<NamedActorEntries>& listed) {
  flatbuffers::FlatBufferBuilder b(256);
  connection->Send(FinishEnvelope(b, NamedActorsToWire(b, request_id, listed)));
}

}  // namespace

Status NodeService::HandleListNamedActors(Session* session, const wire::ListNamedActors* list) {
  std::string ns = StringOf(list->namespace_());
  bool all_namespaces = list->all_namespaces();
  uint64_t request_id = list->request_id();
  NamedActorEntries here;
  Status merged = MergeNamedActors(&here, actors_->ListNames(ns, all_namespaces));
  // A member asks for this node's own names only: it asks each of the others itself.
  if (!merged.ok() || cluster_work_ == nullptr || session->role == wire::Role::Node) {
    SendNamedActors(session->connection.get(), request_id,
                    merged.ok() ? StatusOr<NamedActorEntries>(std::move(here))
                                : StatusOr<NamedActorEntries>(merged));
    return Status::OK();
  }
  // Names are cluster-wide: the other members are asked, and the answer waits for them all.
  uint64_t session_key = session->key;
  cluster_work_->ListNamesElsewhere(
      ns, all_namespaces,
      [this, session_key, request_id, here](StatusOr<NamedActorEntries> elsewhere) mutable {
        auto it = sessions_.find(session_key);
        if (it == sessions_.end()) return;  // The client went meanwhile.
        if (elsewhere.ok()) {
          Status status = MergeNamedActors(&here, *elsewhere);
          elsewhere = status.ok() ? StatusOr<NamedActorEntries>(std::move(here))
                                  : StatusOr<NamedActorEntries>(status);
        }
        SendNamedActors(it->second->connection.get(), request_id, elsewhere);
      });
  return Status::OK();
}

}  // namespace rayx
