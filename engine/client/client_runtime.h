// ClientRuntime: what a driver or worker process does as a client of its node, without Python.
// A facade over the client runtime's parts, each with its own contract and lock:
//   NodeChannel       the connection to the node, the frames waiting to go, their order;
//   ReferenceCounter  the objects and actors this process holds, batched removals;
//   ValueIo           values inline or in shared memory, mappings and their pins;
//   TaskContext       the task each thread runs and the ids of what it submits and puts;
//   ObjectClient      puts, gets and waits;
//   TaskSubmitter     tasks and actors, by the node's path or directly;
//   DirectSubmitter   leases of idle workers, links to them, results kept here, promotions;
//   TaskExecutor      a worker's side of the tasks it runs.
// It composes them and forwards; it holds no logic of its own.
//
// Thread-safe. Disconnect may be called while other threads wait in Get, Wait or NextTask: they
// return Unavailable; the runtime must outlive every call into it (hold it by shared_ptr).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"

namespace rayx {

class DirectSubmitter;
class NodeChannel;
class ObjectClient;
class ReferenceCounter;
class TaskContext;
class TaskExecutor;
class TaskSubmitter;
class ValueIo;

enum class ClientRole { kDriver, kWorker };

// The prefix of an address that attaches a driver over TCP.
inline constexpr char kTcpScheme[] = "tcp://";

class ClientRuntime {
 public:
  // Connects to the node at address, says Hello as role and waits for Welcome. address is the
  // node's Unix socket path, or, for a driver on another machine than the node, "tcp://HOST:PORT"
  // of a cluster member (kTcpScheme): authenticated with the cluster token ($RAYX_CLUSTER_TOKEN),
  // and without shared memory (every value travels inline, up to kMaxInlineValueSize each) or
  // direct submission (the node leases no worker to it).
  static StatusOr<std::unique_ptr<ClientRuntime>> Connect(const std::string& address,
                                                          ClientRole role,
                                                          const WorkerID& worker_id);
  ~ClientRuntime();
  ClientRuntime(const ClientRuntime&) = delete;
  ClientRuntime& operator=(const ClientRuntime&) = delete;

  const WelcomeInfo& welcome() const { return welcome_; }
  // Returns true when a waiting call should give up (Ctrl-C): it then returns Cancelled. Called
  // from the waiting thread without locks held. Set it before other threads use the runtime.
  void SetInterruptCheck(std::function<bool()> check);

  // See TaskContext.
  JobID job_id() const;
  TaskID current_task() const;
  void SetCurrentTask(const TaskID& task_id);
  std::string job_namespace() const;
  // A worker: see TaskExecutor::SetOutputName.
  Status SetOutputName(std::string_view name);
  // A driver's job namespace, before it submits anything.
  void SetJobNamespace(std::string_view ns);

  // See ObjectClient and ReferenceCounter.
  StatusOr<ObjectID> Put(const OutgoingValue& value);
  Status PutItem(const ObjectID& id, const OutgoingValue& value);
  StatusOr<std::vector<IncomingValue>> Get(const std::vector<ObjectID>& ids, int64_t timeout_ms,
                                           bool* timed_out);
  StatusOr<std::vector<bool>> Wait(const std::vector<ObjectID>& ids, uint32_t num_returns,
                                   int64_t timeout_ms, bool unknown_pending = false);
  void AddRef(const ObjectID& id);
  void RemoveRef(const ObjectID& id);
  void AddActorRef(const ActorID& id);
  void RemoveActorRef(const ActorID& id);
  StatusOr<StoreStats> ObjectStoreStats();
  // Tests only: drops every copy of ids, as if their node had died (ObjectClient::DropCopies).
  StatusOr<uint32_t> DropObjectCopies(const std::vector<ObjectID>& ids);
  // ray._private.internal_api.free: frees the objects' values on the node (ObjectClient::Free).
  StatusOr<uint32_t> FreeObjects(const std::vector<ObjectID>& ids);
  // ray._private.internal_api.memory_summary: the node's object table (ObjectClient::List).
  StatusOr<ObjectListing> ListObjects();

  // See TaskSubmitter.
  Status ExportFunction(const std::string& function_id, ByteSpan blob);
  StatusOr<std::vector<ObjectID>> SubmitTask(const TaskSubmission& task);
  Status Cancel(const ObjectID& id, bool force, bool recursive);
  StatusOr<ActorLookup> CreateActor(const ActorCreation& creation);
  StatusOr<ActorLookup> GetActor(const std::string& name, const std::string& ns);
  Status KillActor(const ActorID& id, bool no_restart);
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListNamedActors(const std::string& ns,
                                                                             bool all_namespaces);
  StatusOr<PlacementGroupAnswer> PlacementGroupCall(uint8_t op, const PlacementGroupInfo& group);
  // The cluster's nodes. Idle leases go back first, so that what they hold counts as available.
  StatusOr<std::vector<NodeDescription>> Nodes();

  // Worker: see TaskExecutor.
  StatusOr<bool> NextTask(TaskToRun* task, bool* interrupted);
  Status TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results, bool retry,
                  ReportTiming timing = ReportTiming::kNow);
  static bool ReportWaitsForOthers(const std::vector<OutgoingValue>& results);
  void FlushResults();
  bool TaskCancelled(const TaskID& task_id, int wait_ms);
  void EnableCancelNotices();

  // Closes the connection: calls waiting in other threads return Unavailable, later calls fail.
  void Disconnect();
  bool disconnected() const { return disconnected_.load(); }
  // In a child forked from this process: see NodeConnection::AbandonInForkedChild. The runtime
  // must then be leaked, not destroyed.
  void AbandonInForkedChild();
  // Tasks sent straight to a leased worker so far.
  uint64_t direct_task_count() const;

 private:
  ClientRuntime() = default;

  WelcomeInfo welcome_;
  ClientRole role_ = ClientRole::kDriver;
  std::atomic<bool> disconnected_{false};
  // Declared in the order they are built; destroyed in reverse, the channel last.
  std::unique_ptr<NodeChannel> channel_;
  std::unique_ptr<ValueIo> io_;
  std::unique_ptr<ReferenceCounter> refs_;
  std::unique_ptr<TaskContext> context_;
  std::unique_ptr<DirectSubmitter> direct_;
  std::unique_ptr<ObjectClient> objects_;
  std::unique_ptr<TaskSubmitter> submitter_;
  std::unique_ptr<TaskExecutor> executor_;
};

}  // namespace rayx
