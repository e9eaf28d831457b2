// ReferenceCounter: which objects and actors this process holds, as its node must know.
//
// Counts are per process: the node hears of an id when this process begins to hold it and when it
// lets go, not of every Python reference. An object id this process made (a put, a task's return)
// is announced by the message that made it, so its first AddRef sends nothing. A removal waits in
// a batch that goes out in front of the next frame the process sends, or within kFlushDelay (the
// channel's flusher); an AddRef of an id whose removal still waits cancels it, and neither is
// sent. An add is decided and sent under the channel's order lock, so that it never passes a
// removal of the same id that another thread is sending. Actor handles are counted the same way
// and the node hears of 0 <-> 1 changes at once; an actor this process created is held from the
// creation's reply on (AnnounceActor).
//
// Thread-safe. Lock order: the channel's order lock, then this counter's lock.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/base/ids.h"
#include "engine/client/node_channel.h"
#include "engine/client/removal_batch.h"

namespace rayx {

class ReferenceCounter {
 public:
  // Becomes channel's pending source (its batched removals); channel must outlive the counter.
  explicit ReferenceCounter(NodeChannel* channel);
  ReferenceCounter(const ReferenceCounter&) = delete;
  ReferenceCounter& operator=(const ReferenceCounter&) = delete;

  // Called with the id whose last reference went, after the counter's lock is released.
  void SetReleaseListener(std::function<void(const ObjectID&)> listener) {
    on_release_ = std::move(listener);
  }

  // id was made here: the node counts this process as its holder from the start.
  void Announce(const ObjectID& id);
  void AddRef(const ObjectID& id);
  void RemoveRef(const ObjectID& id);
  // True while this process holds id (counted, or announced and not yet taken over).
  bool IsHeld(const ObjectID& id) const;

  // This process created (or found with get_if_exists) the actor: the node counts it as a holder
  // from the reply on, so the first AddActorRef sends nothing (unless it holds handles already).
  void AnnounceActor(const ActorID& id);
  void AddActorRef(const ActorID& id);
  void RemoveActorRef(const ActorID& id);

 private:
  // The channel's pending source: a RefCountUpdate of the waiting removals.
  void TakeRemovals(std::string* frames);
  bool NoRemovals() const;
  void SendActorRefUpdate(const ActorID& id, bool added);

  NodeChannel* const channel_;
  std::function<void(const ObjectID&)> on_release_;

  mutable std::mutex mu_;
  std::unordered_map<ObjectID, int64_t> refs_;  // GUARDED_BY(mu_)
  // Ids this process made whose first AddRef needs no message to the node.
  std::unordered_set<ObjectID> announced_;           // GUARDED_BY(mu_)
  RemovalBatch removals_;                            // GUARDED_BY(mu_)
  std::unordered_map<ActorID, int64_t> actor_refs_;  // GUARDED_BY(mu_)
  std::unordered_set<ActorID> announced_actors_;     // GUARDED_BY(mu_)
};

}  // namespace rayx
