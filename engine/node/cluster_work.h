// ClusterWork: a node's share of the cluster's work (DESIGN.md, "Cluster"): where tasks run, tasks
// and actors sent to other members, objects pulled from them, and what a member's death costs.
//
// Each member is reached through a PeerClient (engine/cluster/peer_client.h): this node is a
// client of the other one (Role::Node), which serves it as it serves a driver. So a task sent to a
// member is: its function (once per member), its arguments (PutObject: inline, or the location of
// a shared-memory value to pull), the SubmitTask, and a GetObjects for its returns. The member
// stores the results; small ones come back inline, large ones stay there and are pulled when this
// node needs them (ObjectTable's fetcher, ReadObject in chunks). This node stays the owner: it
// keeps the lineage, holds the member's copies while it references them, and rebuilds them when
// the member dies.
//
// Placement (Place): a task's affinity (a hard one to a member that is dead or lacks the resources
// fails the task; a soft one falls back), then SPREAD (round robin over the nodes that can run
// it), then here when it can start here now, then a member whose advertised free resources fit
// (less what was sent there since it last said), then here if it can ever run here, then any
// member that can ever run it. The advertised figures come with the heartbeats and may be stale:
// a task sent on them is refusable, and a member that cannot start it at once refuses it
// (SubmitRefused), after which it is placed again without that member. A task sent any other way
// (affinity, SPREAD, the last resort) is queued there.
//
// Borrowed objects: a reference that arrives from a member to an object this node does not know
// (nested in a result or argument value, or in a forwarded task's arguments) is to an object that
// member owns, or borrowed itself. This node borrows it: registers it (ObjectTable::
// CreateBorrowed), asks the member to hold it for this node (RefCountUpdate.added, sent before
// the member may let go of the value that carried it), and asks for its value (GetObjects, which
// the member answers once it is ready). Its clients use it like any object; when it is freed here,
// the member is told. When the lender dies, a borrowed object without a copy here becomes
// OWNER_DIED; when only the link closed, it is asked for again.
//
// Actors: an actor whose placement resources this node does not have goes to a member that has
// them: the CreateActor is forwarded, this node records where the actor lives, sends its calls
// there in the order made (a call waits for its argument objects, and holds back the calls behind
// it), counts its clients' handles and lets the member's handle go when the last is gone. A name
// not found here is looked up on the other members, in turn. A listing of the named actors
// (ray.util.list_named_actors) asks every live member at once and waits for each answer (or its
// death).
//
// A member that dies (or whose link closes): its tasks here are retried within max_retries; its
// actors are restarted elsewhere while their max_restarts allow (on another member, or here
// through the ActorManager when this node can hold them), the calls in flight failing with
// ACTOR_DIED and the queued ones going to the new incarnation, else they are dead; its pulls
// fail; and the objects whose only copy was there are lost and rebuilt from lineage when needed
// (TaskManager::LoseCopies). An actor's constructor arguments stay pinned here while it may
// restart.
//
// Thread: the node's loop thread only. Close() before the components it uses go.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/cluster/cluster_service.h"
#include "engine/cluster/peer_client.h"
#include "engine/loop/event_loop.h"
#include "engine/node/actor_manager.h"
#include "engine/node/named_actor_list.h"
#include "engine/node/remote_runner.h"
#include "engine/node/task_manager.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

class ClusterWork : public RemoteRunner {
 public:
  ClusterWork(EventLoop* loop, const NodeID& self, ClusterService* cluster, ObjectTable* objects,
              TaskManager* tasks, ActorManager* actors,
              const std::unordered_map<std::string, std::string>* functions);
  ~ClusterWork() override;
  // Closes the links to the members; nothing is called back from then on.
  void Close();

  // RemoteRunner (the TaskManager).
  StatusOr<NodeID> Place(const TaskSpec& spec, bool fits_now, bool feasible) override;
  void Run(const NodeID& node, uint64_t key, const TaskSpec& spec, uint32_t attempt) override;
  void Cancel(const NodeID& node, const TaskID& task_id, bool force, bool recursive) override;
  void RecoverBorrowed(const ObjectID& id, const NodeID& lender) override;
  std::string DescribeMembers() override;

  // A reference to id arrived from the member lender (nested in a value, or in a task's
  // arguments): unless id is known here, it is borrowed (ObjectTable::CreateBorrowed), the
  // member is asked to hold it for this node, and its value is asked for.
  void Borrow(const ObjectID& id, const NodeID& lender);

  // Objects: reads a range of an object stored on node (ObjectPuller's ChunkReader); done runs on
  // the loop, never inside the call.
  void ReadChunk(const NodeID& from, const ObjectID& id, uint64_t offset, uint32_t length,
                 std::function<void(StatusOr<std::string_view>)> done);
  // An entry whose copy is on location was freed here: that member may free its copy.
  void OnRemoteFreed(const ObjectID& id, const NodeID& location);

  // Actors (NodeService, for the clients of this node).
  using ActorReplyFn = std::function<void(const StatusOr<ActorManager::ActorInfo>&)>;
  // Sends the actor of create (frame: its whole envelope) to a member when this node cannot place
  // it: returns true, and reply runs once the member answers. False: create it here.
  bool MaybeCreateElsewhere(uint64_t session, const wire::CreateActor* create,
                            std::string_view frame, ActorReplyFn reply);
  // Looks the name up on the other members in turn; reply gets NotFound when none has it.
  void LookupElsewhere(const std::string& ns, const std::string& name, ActorReplyFn reply);
  bool IsRemoteActor(const ActorID& id) const { return actors_.count(id) != 0; }
  // Asks every other live member for its named actors (in ns, or in any namespace) and calls done
  // once with their union, when each has answered or died (a dead member's are gone); a member
  // that refuses (too long a list) fails the whole. With no other member, done runs at once.
  using NamedActorsFn = std::function<void(StatusOr<NamedActorEntries>)>;
  void ListNamesElsewhere(const std::string& ns, bool all_namespaces, NamedActorsFn done);
  // A call to a remote actor (IsRemoteActor); its returns are registered already. A generator
  // method's call (spec.streaming) fails at once (UNSCHEDULABLE): its items would stream to the
  // actor's node.
  void SubmitActorCall(TaskSpec spec);
  // Whether task_id is an unfinished call to a remote actor (queued here or sent).
  bool HasActorCall(const TaskID& task_id) const;
  // Cancels such a call: one queued here ends now with TASK_CANCELLED (false); one sent is
  // cancelled on the actor's member, whose outcome comes back as its result (true: it goes on).
  bool CancelActorCall(const TaskID& task_id, bool recursive);
  // Appends the unfinished calls to remote actors that parent submitted (for cancellation).
  void AppendChildren(const TaskID& parent, std::vector<TaskID>* children) const;
  void KillActor(const ActorID& id, bool no_restart);
  void AddActorHolder(uint64_t session, const ActorID& id);
  void RemoveActorHolder(uint64_t session, const ActorID& id);
  void OnSessionClosed(uint64_t session);

  // ClusterService's membership listener.
  void OnMember(const NodeID& id, bool alive);
  // ClusterService's totals listener: a member's total resources changed (a placement group's
  // bundle committed there, say), so the tasks that no node could run are placed again.
  void OnMemberTotals(const NodeID& id);

  // Placement groups (placement_group_manager.h). SendToMember sends a frame to the member over
  // this node's link to it (dialed on first use); false when the member is dead or unknown.
  bool SendToMember(const NodeID& node, std::string_view frame);
  // on_reply gets each BundleReply from a member; on_lost each member given up on (it died, or
  // this node's link to it closed). Null to stop.
  void SetBundleListeners(std::function<void(const NodeID&, const wire::BundleReply*)> on_reply,
                          std::function<void(const NodeID&)> on_lost);
  // The live members other than this node, with their totals and free resources as this node
  // sees them (the last heartbeat, less what was sent there since).
  std::vector<std::pair<NodeID, std::pair<ResourceSet, ResourceSet>>> MemberViews();
  // Sends the member a PlacementGroupRequest, the frame frame_for builds with the request id it is
  // given; done gets the member's PlacementGroupReply frame (verified), or an empty one when the
  // member dies or the link closes first. False, and done is never called, when the member is
  // dead or unknown.
  bool AskPlacementGroups(const NodeID& node, const std::function<std::string(uint64_t)>& frame_for,
                          std::function<void(std::string_view)> done);
  // The live members other than this node.
  std::vector<NodeID> LiveMembers();
  // Adds derived resources to this node's view of the member (or takes them away), until its
  // next heartbeat says what it has.
  void NoteReserved(const NodeID& node, const ResourceSet& derived, bool added);

 private:
  struct Peer;
  struct RemoteActor;
  struct ActorCall;
  struct PendingGet;
  struct NameListing;

  // The link to a live member, dialed on first use; null when it is dead or unknown.
  Peer* PeerFor(const NodeID& id);
  Status OnPeerFrame(const NodeID& id, const wire::Envelope& envelope, std::string_view frame);
  void OnGetReply(Peer* peer, const wire::GetReply* reply);
  void Complete(uint64_t request_id);
  // Everything that waited on the member fails, and its copies are lost (see above): the member
  // died, or this node's link to it closed (the member then let go of all it held for this node;
  // a later need dials it again).
  void FailPeer(const NodeID& id, const std::string& why, bool member_dead);

  // A member that can run demand (alive, its total covers it), refreshing its figures.
  struct View {
    ResourceSet total;
    ResourceSet available;  // As advertised, less what was sent since.
    uint64_t heard_ms = 0;
  };
  View* Usable(const NodeID& id, const ResourceSet& demand);

  // Sends spec's function (once per member) and its arguments (PutObject) to peer; returns the
  // arguments sent, for the member to let go of when the task or creation is done.
  std::vector<ObjectID> SendFunctionAndArguments(Peer* peer, const TaskSpec& spec);
  // Sends the task's function, arguments, SubmitTask and GetObjects to peer; returns the request
  // id of the GetObjects, whose answer Complete handles.
  // refusable: sent on the view of the member's free resources (see OnRefused).
  uint64_t Forward(Peer* peer, const TaskSpec& spec, std::unique_ptr<PendingGet> pending,
                   bool refusable = false, uint32_t attempt = 0);
  // The member could not start a task sent on a stale view: it is placed again, elsewhere.
  Status OnRefused(Peer* peer, const wire::SubmitRefused* refusal);
  // Holds id on lender for this node and asks for its value (a borrowed get).
  void RequestBorrowed(const ObjectID& id, const NodeID& lender);
  void PumpActor(const ActorID& id);
  void FailCall(ActorCall* call, const std::string& why);
  void FinishCall(ActorCall* call, std::vector<RemoteResult> results);
  void LookupNext(std::shared_ptr<struct Lookup> lookup);
  // A member's answer to ListNamedActors (or its death: list null), for the listing it belongs to.
  void OnNamedActorList(const NodeID& from, uint64_t request_id, const wire::NamedActorList* list);
  // A member to hold demand (a peer other than those dead), or nil for none; *here is set when
  // this node should (and can) hold it instead.
  NodeID ChooseForActor(const ResourceSet& demand, bool* here);
  // Sends the creation (its arguments, then the CreateActor frame) to peer; on_reply runs with
  // its answer (null when the member died first).
  void SendCreate(Peer* peer, const TaskSpec& spec, std::string_view frame,
                  std::function<void(const wire::ActorReply*)> on_reply);
  // The actor's node died: restart it elsewhere, or let it die (see above). An actor placed in a
  // placement group bundle that no node holds now (its member died with it, and the group is
  // being rescheduled) waits for it, tried again every kBundleRetryMs for up to kBundleWaitMs, as
  // Ray restarts such an actor once its bundle is back.
  void RestartOrDie(RemoteActor* actor, const std::string& why);
  void RetryAwaitingBundles();
  static constexpr uint64_t kBundleRetryMs = 250;
  static constexpr uint64_t kBundleWaitMs = 60000;

  std::function<void(const NodeID&, const wire::BundleReply*)> on_bundle_reply_;
  std::function<void(const NodeID&)> on_member_lost_;
  struct GroupAsk {
    NodeID node;
    std::function<void(std::string_view)> done;
  };
  std::unordered_map<uint64_t, GroupAsk> group_asks_;  // By request id.
  // Actors waiting for their bundle to restart (RestartOrDie), with why they restart.
  std::vector<std::pair<ActorID, std::string>> awaiting_bundles_;
  std::unique_ptr<Timer> bundle_timer_;  // Made on first use.

  // False once closed: callbacks posted to the loop check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  EventLoop* loop_;
  NodeID self_;
  ClusterService* cluster_;
  ObjectTable* objects_;
  TaskManager* tasks_;
  ActorManager* actor_manager_;
  const std::unordered_map<std::string, std::string>* functions_;
  bool closed_ = false;

  std::unordered_map<NodeID, std::unique_ptr<Peer>> peers_;
  std::unordered_set<NodeID> dead_;
  // A member whose work link closed is not chosen for work for kLostMemberPauseMs: a link that
  // closes is most often its member dying, which membership declares only once its own link
  // closes or the heartbeat times out, and a retry sent there meanwhile fails too (a task with
  // two retries ran out of them on a member killed with kill -9, under ASan).
  static constexpr uint64_t kLostMemberPauseMs = 5000;
  std::unordered_map<NodeID, uint64_t> lost_until_ms_;
  std::unordered_map<NodeID, View> views_;
  uint64_t spread_next_ = 0;
  uint64_t next_request_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<PendingGet>> gets_;
  struct PendingRead {
    NodeID node;
    std::function<void(StatusOr<std::string_view>)> done;
  };
  std::unordered_map<uint64_t, PendingRead> reads_;
  std::unordered_map<ActorID, std::unique_ptr<RemoteActor>> actors_;
  // Listings of named actors waiting for members, by the request id sent to each member.
  struct ListingRequest {
    NodeID node;
    std::shared_ptr<NameListing> listing;
  };
  std::unordered_map<uint64_t, ListingRequest> listings_;
  // Tasks placed on a member's advertised free resources (Place), which Run sends refusable; and
  // per task the members that refused it, skipped when it is placed again.
  std::unordered_set<TaskID> offered_;
  std::unordered_map<TaskID, std::unordered_set<NodeID>> refused_;
  // How many times each borrowed object was asked for again after its copies here were lost.
  static constexpr int kMaxBorrowRecoveries = 3;
  std::unordered_map<ObjectID, int> recoveries_;
  // Borrowed objects not asked for again yet because their lender's link closed a moment ago
  // (lost_until_ms_), with the lender: asked for when its pause ends (RetryPausedBorrowed), unless
  // membership declares it dead first (FailPeer then seals them OWNER_DIED).
  std::unordered_map<ObjectID, NodeID> paused_borrowed_;
  std::unique_ptr<Timer> paused_borrowed_timer_;  // Made on first use.
  uint64_t paused_borrowed_due_ms_ = 0;           // When it fires; 0: not armed.
  void RetryPausedBorrowed();
};

}  // namespace rayx
