#include "engine/client/reference_counter.h"

#include <flatbuffers/flatbuffers.h>

#include <vector>

#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {

ReferenceCounter::ReferenceCounter(NodeChannel* channel) : channel_(channel) {
  channel_->SetPendingSource([this](std::string* frames) { TakeRemovals(frames); },
                             [this] { return NoRemovals(); });
}

void ReferenceCounter::Announce(const ObjectID& id) {
  std::lock_guard<std::mutex> lock(mu_);
  announced_.insert(id);
}

bool ReferenceCounter::IsHeld(const ObjectID& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return refs_.count(id) != 0 || announced_.count(id) != 0;
}

void ReferenceCounter::AddRef(const ObjectID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refs_.find(id);
    if (it != refs_.end()) {  // Held already: the node need not hear of it.
      ++it->second;
      return;
    }
  }
  // A 0 -> 1 change: decided and sent under the order lock, so that it cannot pass a removal of
  // the same id that is being sent by another thread.
  std::unique_lock<std::mutex> order = channel_->LockOrder();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refs_[id]++ != 0) return;
    if (announced_.erase(id) != 0) return;  // The node counts this process as a holder already.
    if (removals_.Cancel(id)) return;       // Its removal was not sent: the node still counts it.
  }
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = PackIds(b, std::vector<ObjectID>{id});
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> none;
  // A lost connection frees everything anyway.
  (void)channel_->SendRaw(order, FinishEnvelope(b, wire::CreateRefCountUpdate(b, ids, none)));
}

void ReferenceCounter::RemoveRef(const ObjectID& id) {
  bool first_waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refs_.find(id);
    if (it == refs_.end()) return;
    if (--it->second > 0) return;
    refs_.erase(it);
    first_waiting = removals_.empty();
    removals_.Defer(id);
  }
  // The flusher needs waking only for the first removal in a while.
  if (first_waiting) channel_->Wake();
  if (on_release_) on_release_(id);
}

void ReferenceCounter::TakeRemovals(std::string* frames) {
  std::vector<ObjectID> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (removals_.empty()) return;
    ids = removals_.Take();
  }
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  auto packed = PackIds(b, ids);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> none;
  AppendFrame(frames, FinishEnvelope(b, wire::CreateRefCountUpdate(b, none, packed)));
}

bool ReferenceCounter::NoRemovals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return removals_.empty();
}

void ReferenceCounter::SendActorRefUpdate(const ActorID& id, bool added) {
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = b.CreateVector(id.data(), ActorID::kSize);
  wire::RefCountUpdateBuilder ub(b);
  if (added) {
    ub.add_actors_added(ids);
  } else {
    ub.add_actors_removed(ids);
  }
  (void)channel_->Send(FinishEnvelope(b, ub.Finish()));
}

void ReferenceCounter::AnnounceActor(const ActorID& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (actor_refs_.count(id) == 0) announced_actors_.insert(id);
}

void ReferenceCounter::AddActorRef(const ActorID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (actor_refs_[id]++ != 0) return;
    if (announced_actors_.erase(id) != 0) return;  // The node counts this process already.
  }
  SendActorRefUpdate(id, true);
}

void ReferenceCounter::RemoveActorRef(const ActorID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = actor_refs_.find(id);
    if (it == actor_refs_.end()) return;
    if (--it->second > 0) return;
    actor_refs_.erase(it);
  }
  SendActorRefUpdate(id, false);
}

}  // namespace rayx
