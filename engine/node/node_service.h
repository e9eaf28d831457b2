// NodeService: the node's side of every client connection (the driver and the workers).
//
// It reads each verified message and acts on it: hellos, task submission, puts, gets and waits
// (answered when the objects are ready or the timeout passes), reference counts, cancellation and
// cluster information, and reads of object chunks by other nodes that pull them. Each connection's
// references are dropped when it closes, so a driver that exits, however it exits, frees what it
// held.
//
// Thread: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/base/ids.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/node/actor_manager.h"
#include "engine/node/bundle_host.h"
#include "engine/node/cancelled_parents.h"
#include "engine/node/cluster_work.h"
#include "engine/node/placement_group_manager.h"
#include "engine/node/task_manager.h"
#include "engine/objects/object_table.h"
#include "engine/wire/protocol_generated.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

// A member of this node's cluster, as InfoRequest reports it (engine/cluster owns the list).
struct PeerNodeInfo {
  NodeID id;
  bool alive = false;
  std::string address;
  std::map<std::string, double> total;
  std::map<std::string, double> available;
};

// Where a client connection came from, which decides what it may say and how values reach it.
enum class ClientOrigin {
  kLocal,   // The node's Unix socket: drivers, workers, observers; shared memory is mapped.
  kMember,  // A member over TCP (LinkPurpose::Client): Hello{Node} only; it pulls large values.
  // A driver on another machine over TCP (LinkPurpose::Driver): Hello{Driver} only. It shares no
  // memory with the node (its Welcome names no session directory): it puts values inline, gets
  // shared-memory values inline (read from their files; one over kMaxInlineValueSize comes as an
  // OBJECT_TOO_LARGE error), maps nothing, and is leased no worker (workers listen on Unix
  // sockets).
  kRemoteDriver,
};

class NodeService {
 public:
  NodeService(EventLoop* loop, const NodeID& node_id, std::string session_dir, ObjectTable* objects,
              WorkerPool* pool, TaskManager* tasks, ActorManager* actors,
              std::unordered_map<std::string, std::string>* functions);
  ~NodeService();

  // Takes a newly accepted connection and serves it until it closes. A connection over TCP
  // (origin other than kLocal) authenticated through the cluster's listener: its handlers are
  // another's, to be rebound.
  void Accept(std::shared_ptr<Connection> connection, ClientOrigin origin = ClientOrigin::kLocal);
  // Closes every client connection (the node is stopping).
  void CloseAll();
  // With peers: the other members, listed after this node in every InfoReply.
  void SetPeerNodes(std::function<std::vector<PeerNodeInfo>()> peers) { peers_ = std::move(peers); }
  // Logs submissions and exported functions; when replaying, answers logged tasks from the log and
  // refuses leases (lineage_recorder.h). It outlives the service.
  void SetLineageRecorder(LineageRecorder* lineage) { lineage_ = lineage; }
  // With peers: actors placed on other members, and names looked up there (cluster_work.h). It
  // outlives the service.
  void SetClusterWork(ClusterWork* work) { cluster_work_ = work; }
  // The placement groups of this node's clients; it outlives the service.
  void SetPlacementGroups(PlacementGroupManager* groups) { placement_groups_ = groups; }
  // The bundles this node holds for groups, for members' BundleRequests; it outlives the service.
  void SetBundleHost(BundleHost* host) { bundle_host_ = host; }

 private:
  struct Session;
  struct PendingGet;
  struct PendingWait;
  LineageRecorder* lineage_ = nullptr;
  ClusterWork* cluster_work_ = nullptr;
  // Running tasks a recursive cancel reached: what they submit from now on is cancelled on arrival.
  CancelledParents cancelled_parents_;
  PlacementGroupManager* placement_groups_ = nullptr;
  BundleHost* bundle_host_ = nullptr;

  void OnFrame(Session* session, std::string_view frame);
  Status Handle(Session* session, const wire::Envelope* envelope, std::string_view frame);
  Status HandleHello(Session* session, const wire::Hello* hello);
  Status HandleSubmit(Session* session, const wire::SubmitTask* submit);
  Status HandlePut(Session* session, const wire::PutObject* put);
  Status HandleGet(Session* session, const wire::GetObjects* get);
  Status HandleWait(Session* session, const wire::WaitObjects* wait);
  Status HandleRefCounts(Session* session, const wire::RefCountUpdate* update);
  // ray.cancel (node_service_cancel.cc): routes the cancel to the task manager, the actor
  // manager or the calls to remote actors, and answers it when asked (force=True).
  Status HandleCancel(Session* session, const wire::CancelTask* cancel);
  // Cancels task_id and, with recursive, what it submitted, level by level (Ray: force applies
  // to tasks only, never to actor calls below). InvalidArgument for force on an actor's call.
  Status CancelTree(const TaskID& task_id, bool force, bool recursive);
  // Cancels one task or call; true when it goes on for now (it may still submit tasks).
  bool CancelOne(const TaskID& task_id, bool force, bool recursive);
  Status HandleInfo(Session* session, const wire::InfoRequest* request);
  Status HandleCreateActor(Session* session, const wire::CreateActor* create,
                           std::string_view frame);
  // Creates the actor here, or on a member when this node cannot hold it (name checked).
  Status CreateActorNow(Session* session, const wire::CreateActor* create, std::string_view frame);
  Status HandleRequestLease(Session* session, const wire::RequestLease* request);
  Status HandleGetActor(Session* session, const wire::GetActor* get);
  void SendActorReply(Session* session, uint64_t request_id,
                      const StatusOr<ActorManager::ActorInfo>& result);
  // ray.util.list_named_actors (node_service_names.cc): this node's named actors and, for a client
  // that is not a member, every other member's.
  Status HandleListNamedActors(Session* session, const wire::ListNamedActors* list);
  // Placement groups (node_service_placement.cc). FailedPrecondition: what rayx cannot do yet.
  Status HandlePlacementGroup(Session* session, const wire::PlacementGroupRequest* request);
  StatusOr<const PlacementGroupManager::Group*> CreatePlacementGroup(
      Session* session, const wire::PlacementGroupRecord* record);
  // A Get, Remove or Table request that this node's own groups do not answer, asked of the other
  // members in turn (node_service_placement.cc): the first that knows the group answers a Get or
  // Remove; a Table gathers every member's groups. Only for a session that is not a member's
  // (a member's request is answered from this node's groups alone).
  struct GroupQuery;
  void AskNextMember(std::shared_ptr<GroupQuery> query);
  void ReplyGroups(uint64_t session_key, uint64_t request_id, const std::string& error,
                   const std::vector<const PlacementGroupManager::Group*>& groups);
  // A member's BundleRequest (node_service_bundles.cc): only a member's session may send one; a
  // malformed one closes the session.
  Status HandleBundleRequest(Session* session, const wire::BundleRequest* request);
  Status HandleDropCopies(Session* session, const wire::DropObjectCopies* drop);
  Status HandleFreeObjects(Session* session, const wire::FreeObjects* request);
  Status HandleListObjects(Session* session, const wire::ListObjects* request);
  Status HandleStats(Session* session, const wire::ObjectStoreStatsRequest* request);
  // Another node pulls an object stored here: one chunk of its bytes (read_chunk.h).
  Status HandleReadObject(Session* session, const wire::ReadObject* read);
  void ReplyPut(uint64_t session_key, uint64_t request_id, const ObjectID& id, const Status& room);
  void OnClose(Session* session);

  void Hold(Session* session, const ObjectID& id);
  // From a member's session: the ids this node does not know are that member's, and borrowed
  // (ClusterWork::Borrow). No-op for other sessions.
  void BorrowFromMember(Session* session, const std::vector<ObjectID>& ids);
  void FinishGet(uint64_t get_key, bool timed_out);
  // A remote driver's copy of a shared-memory value, inline (read from its file), or the error
  // that says why it cannot have it.
  StoredValue InlineCopy(const ObjectID& id, const StoredValue& value);
  void FinishWait(uint64_t wait_key);
  void SetBlocked(Session* session, int delta);

  EventLoop* loop_;
  NodeID node_id_;
  std::string session_dir_;
  ObjectTable* objects_;
  WorkerPool* pool_;
  TaskManager* tasks_;
  ActorManager* actors_;
  std::unordered_map<std::string, std::string>* functions_;

  // The job id of the next driver. An embedded node numbers its jobs from 1 (a replay submits
  // the same task ids as the job it replays); a cluster member draws them at random, since task
  // and actor ids derive from the job id and every member numbers its own drivers: two members'
  // first drivers would make the same ids.
  JobID NextJobId();
  uint32_t next_job_ = 1;
  uint64_t next_session_ = 1;
  uint64_t next_pending_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
  std::unordered_map<uint64_t, std::unique_ptr<PendingGet>> gets_;
  std::unordered_map<uint64_t, std::unique_ptr<PendingWait>> waits_;
  std::function<std::vector<PeerNodeInfo>()> peers_;
  // ObjectChunk replies: its buffer, grown to one chunk on the first, serves every later one.
  flatbuffers::FlatBufferBuilder chunk_builder_{1024};
};

}  // namespace rayx
