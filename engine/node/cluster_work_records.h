// The records a ClusterWork keeps (its links to members, remote actors and their calls, the gets
// it waits for, name lookups) and the one message helper its sources share. Private to
// cluster_work.cc and cluster_work_actors.cc.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/node/cluster_work.h"

namespace rayx {

struct ClusterWork::Peer {
  NodeID id;
  std::shared_ptr<PeerClient> client;
  std::unordered_set<std::string> functions_sent;
  // The member answers CreateActor and GetActor at once, in order: one callback each, in order.
  std::deque<std::function<void(const wire::ActorReply*)>> actor_replies;
  std::unordered_set<ObjectID> held;  // Returns stored there that this node holds there.
};

struct ClusterWork::ActorCall {
  TaskSpec spec;
  std::vector<ObjectID> pinned;
};

struct ClusterWork::RemoteActor {
  ActorID id;
  NodeID node;
  bool detached = false;
  uint64_t creator = 0;               // The session that created it.
  std::string create_frame;           // Its CreateActor, for a restart elsewhere.
  TaskSpec create_spec;               // Parsed from it.
  ResourceSet demand;                 // What placing it takes.
  int restarts_left = 0;              // -1: for ever.
  std::vector<ObjectID> pinned_args;  // The constructor's arguments, while it may restart.
  bool restarting = false;
  // An actor in a placement group whose bundle went with its member waits for the bundle to be
  // placed again until then (loop ms; 0: not waiting).
  uint64_t bundle_deadline_ms = 0;
  bool dead = false;
  std::string death;
  std::unordered_set<uint64_t> holders;           // Sessions of this node with a handle.
  bool held_there = false;                        // This node holds a handle on the member.
  std::deque<std::unique_ptr<ActorCall>> queued;  // Not sent yet, in the order made.
  bool waiting = false;                           // The first waits for an argument.
};

struct ClusterWork::PendingGet {
  NodeID node;
  bool borrowed = false;  // Objects the member owns, asked for by RequestBorrowed.
  std::vector<ObjectID> returns;
  std::vector<RemoteResult> results;
  std::vector<ObjectID> sent;       // Arguments put there for this task.
  uint64_t task_key = 0;            // A task's key in the TaskManager, or
  std::unique_ptr<ActorCall> call;  // an actor call.
};

struct ClusterWork::NameListing {
  NamedActorEntries entries;
  Status error;     // The first member's refusal, or a merge past the limit.
  size_t left = 0;  // Members yet to answer.
  NamedActorsFn done;
};

struct Lookup {
  std::string ns;
  std::string name;
  std::vector<NodeID> left;
  ClusterWork::ActorReplyFn reply;
  Status not_found;
};

// Sends a RefCountUpdate to the member; nothing when every list is empty.
void SendRefCounts(PeerClient* client, const std::vector<ObjectID>& removed,
                   const std::vector<ActorID>& actors_added,
                   const std::vector<ActorID>& actors_removed,
                   const std::vector<ObjectID>& added = {});

}  // namespace rayx
