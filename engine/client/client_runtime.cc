#include "engine/client/client_runtime.h"

#include "engine/client/direct_submitter.h"
#include "engine/client/node_channel.h"
#include "engine/client/node_connection.h"
#include "engine/client/node_info.h"
#include "engine/client/object_client.h"
#include "engine/client/reference_counter.h"
#include "engine/client/task_context.h"
#include "engine/client/task_executor.h"
#include "engine/client/task_submitter.h"
#include "engine/client/value_io.h"
#include "engine/cluster/token.h"

namespace rayx {

namespace {

StatusOr<std::unique_ptr<NodeConnection>> ConnectTo(const std::string& address, ClientRole role,
                                                    const WorkerID& worker_id) {
  std::string_view scheme = kTcpScheme;
  if (address.compare(0, scheme.size(), scheme) != 0) {
    wire::Role wire_role = role == ClientRole::kDriver ? wire::Role::Driver : wire::Role::Worker;
    return NodeConnection::Connect(address, wire_role, worker_id);
  }
  if (role != ClientRole::kDriver) return InvalidArgument("only a driver attaches over TCP");
  RAYX_ASSIGN_OR_RETURN(std::string token, LoadClusterToken(""));
  return NodeConnection::ConnectOverTcp(address.substr(scheme.size()), token);
}

}  // namespace

StatusOr<std::unique_ptr<ClientRuntime>> ClientRuntime::Connect(const std::string& address,
                                                                ClientRole role,
                                                                const WorkerID& worker_id) {
  RAYX_ASSIGN_OR_RETURN(auto connection, ConnectTo(address, role, worker_id));
  const bool shared_store = !connection->remote();
  std::unique_ptr<ClientRuntime> r(new ClientRuntime());
  r->welcome_ = connection->welcome();
  r->role_ = role;
  r->channel_ = std::make_unique<NodeChannel>(std::move(connection));
  r->io_ =
      std::make_unique<ValueIo>(r->welcome_.session_dir, &r->channel_->connection(), shared_store);
  r->refs_ = std::make_unique<ReferenceCounter>(r->channel_.get());
  TaskID process_task =
      role == ClientRole::kDriver ? TaskID::ForDriver(r->welcome_.job_id) : TaskID();
  r->context_ = std::make_unique<TaskContext>(process_task, r->welcome_.job_id);
  r->direct_ = std::make_unique<DirectSubmitter>(r->channel_.get(), r->refs_.get());
  r->objects_ = std::make_unique<ObjectClient>(r->channel_.get(), r->refs_.get(), r->context_.get(),
                                               r->io_.get(), r->direct_.get());
  r->submitter_ = std::make_unique<TaskSubmitter>(r->channel_.get(), r->refs_.get(),
                                                  r->context_.get(), r->direct_.get());
  r->executor_ = std::make_unique<TaskExecutor>(r->channel_.get(), r->context_.get(), r->io_.get(),
                                                r->direct_.get());
  r->channel_->Start();
  return r;
}

ClientRuntime::~ClientRuntime() {
  // The flusher calls into the parts: it stops before they go.
  if (channel_ != nullptr) channel_->Stop();
}

void ClientRuntime::SetInterruptCheck(std::function<bool()> check) {
  channel_->connection().SetInterruptCheck(std::move(check));
}

JobID ClientRuntime::job_id() const { return context_->job_id(); }
TaskID ClientRuntime::current_task() const { return context_->current_task(); }
void ClientRuntime::SetCurrentTask(const TaskID& task_id) { context_->SetCurrentTask(task_id); }
std::string ClientRuntime::job_namespace() const { return context_->job_namespace(); }
void ClientRuntime::SetJobNamespace(std::string_view ns) {
  context_->SetProcessNamespace(ns, /*actor=*/false);
}

StatusOr<ObjectID> ClientRuntime::Put(const OutgoingValue& value) { return objects_->Put(value); }
Status ClientRuntime::PutItem(const ObjectID& id, const OutgoingValue& value) {
  return objects_->PutItem(id, value);
}
StatusOr<std::vector<IncomingValue>> ClientRuntime::Get(const std::vector<ObjectID>& ids,
                                                        int64_t timeout_ms, bool* timed_out) {
  return objects_->Get(ids, timeout_ms, timed_out);
}
StatusOr<std::vector<bool>> ClientRuntime::Wait(const std::vector<ObjectID>& ids,
                                                uint32_t num_returns, int64_t timeout_ms,
                                                bool unknown_pending) {
  return objects_->Wait(ids, num_returns, timeout_ms, unknown_pending);
}
void ClientRuntime::AddRef(const ObjectID& id) { refs_->AddRef(id); }
void ClientRuntime::RemoveRef(const ObjectID& id) { refs_->RemoveRef(id); }
void ClientRuntime::AddActorRef(const ActorID& id) { refs_->AddActorRef(id); }
void ClientRuntime::RemoveActorRef(const ActorID& id) { refs_->RemoveActorRef(id); }
StatusOr<StoreStats> ClientRuntime::ObjectStoreStats() { return objects_->Stats(); }
StatusOr<uint32_t> ClientRuntime::DropObjectCopies(const std::vector<ObjectID>& ids) {
  return objects_->DropCopies(ids);
}

StatusOr<ObjectListing> ClientRuntime::ListObjects() { return objects_->List(); }

StatusOr<uint32_t> ClientRuntime::FreeObjects(const std::vector<ObjectID>& ids) {
  return objects_->Free(ids);
}

Status ClientRuntime::ExportFunction(const std::string& function_id, ByteSpan blob) {
  return submitter_->ExportFunction(function_id, blob);
}
StatusOr<std::vector<ObjectID>> ClientRuntime::SubmitTask(const TaskSubmission& task) {
  return submitter_->SubmitTask(task);
}
Status ClientRuntime::Cancel(const ObjectID& id, bool force, bool recursive) {
  return submitter_->Cancel(id, force, recursive);
}
StatusOr<ActorLookup> ClientRuntime::CreateActor(const ActorCreation& creation) {
  return submitter_->CreateActor(creation);
}
StatusOr<ActorLookup> ClientRuntime::GetActor(const std::string& name, const std::string& ns) {
  return submitter_->GetActor(name, ns);
}
Status ClientRuntime::KillActor(const ActorID& id, bool no_restart) {
  return submitter_->KillActor(id, no_restart);
}
StatusOr<std::vector<std::pair<std::string, std::string>>> ClientRuntime::ListNamedActors(
    const std::string& ns, bool all_namespaces) {
  return submitter_->ListNamedActors(ns, all_namespaces);
}

StatusOr<PlacementGroupAnswer> ClientRuntime::PlacementGroupCall(uint8_t op,
                                                                 const PlacementGroupInfo& group) {
  return submitter_->PlacementGroupCall(op, group);
}
StatusOr<std::vector<NodeDescription>> ClientRuntime::Nodes() {
  direct_->ReturnIdleLeases(std::chrono::steady_clock::duration::zero());
  return QueryNodes(channel_.get());
}

StatusOr<bool> ClientRuntime::NextTask(TaskToRun* task, bool* interrupted) {
  return executor_->NextTask(task, interrupted);
}
Status ClientRuntime::TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results,
                               bool retry, ReportTiming timing) {
  return executor_->TaskDone(task_id, results, retry, timing);
}
bool ClientRuntime::ReportWaitsForOthers(const std::vector<OutgoingValue>& results) {
  return TaskExecutor::WaitsForOthers(results);
}
void ClientRuntime::FlushResults() { executor_->FlushResults(); }

Status ClientRuntime::SetOutputName(std::string_view name) {
  if (role_ == ClientRole::kDriver) {
    return FailedPrecondition("only a worker has output that the node prefixes");
  }
  return executor_->SetOutputName(name);
}

bool ClientRuntime::TaskCancelled(const TaskID& task_id, int wait_ms) {
  return executor_->Cancelled(task_id, wait_ms);
}

void ClientRuntime::EnableCancelNotices() { executor_->EnableCancelNotices(); }

void ClientRuntime::Disconnect() {
  disconnected_ = true;
  // What waits to go (direct tasks' announcements, say) goes first: the node logs them.
  channel_->Flush();
  channel_->Close();
}
void ClientRuntime::AbandonInForkedChild() { channel_->connection().AbandonInForkedChild(); }
uint64_t ClientRuntime::direct_task_count() const { return direct_->direct_task_count(); }

}  // namespace rayx
