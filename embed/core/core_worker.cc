#include "embed/core/core_worker.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "engine/wire/messages.h"

namespace rayx {

namespace {

// How long a lease with nothing in flight is kept for the next direct task.
constexpr auto kLeaseIdle = std::chrono::milliseconds(20);

// The task a thread runs, when SetCurrentTask gave it one: concurrent actor methods each submit
// and put under their own task.
struct ThreadTask {
  bool set = false;
  TaskID task;
  uint32_t depth = 0;
  uint64_t attempt = 0;  // In the high bits of the submission counter (see SetCurrentTask).
  uint64_t submitted = 0;
  uint32_t put = 0;
};
thread_local ThreadTask t_task;

}  // namespace

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> PackResources(
    flatbuffers::FlatBufferBuilder& b, const std::map<std::string, double>& resources) {
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts;
  for (const auto& [resource, amount] : resources) {
    amounts.push_back(wire::CreateResourceAmount(b, b.CreateString(resource), amount));
  }
  return b.CreateVector(amounts);
}

flatbuffers::Offset<wire::TaskSpec> BuildTaskSpec(flatbuffers::FlatBufferBuilder& b,
                                                  const TaskSubmission& task, const TaskID& task_id,
                                                  uint32_t depth, const SpecExtras& extras) {
  auto id = b.CreateVector(task_id.data(), TaskID::kSize);
  auto function_id = b.CreateVector(reinterpret_cast<const uint8_t*>(task.function_id.data()),
                                    task.function_id.size());
  auto name = b.CreateString(task.name);
  auto args = b.CreateVector(task.args.data, task.args.size);
  auto deps = PackIds(b, task.dependencies);
  auto contained = PackIds(b, task.contained);
  auto resources = PackResources(b, task.resources);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> actor_id;
  flatbuffers::Offset<flatbuffers::String> method;
  if (!task.actor_id.IsNil()) {
    actor_id = b.CreateVector(task.actor_id.data(), ActorID::kSize);
    method = b.CreateString(task.method);
  }
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> worker;
  if (extras.direct_worker != nullptr) {
    worker = b.CreateVector(extras.direct_worker->data(), WorkerID::kSize);
  }
  uint32_t num_returns = extras.actor_creation ? 0 : task.num_returns;
  return wire::CreateTaskSpec(b, id, function_id, name, args, deps, contained, num_returns,
                              resources, task.max_retries, task.retry_exceptions, actor_id, method,
                              extras.actor_creation, extras.max_concurrency, depth,
                              PackIds(b, task.contained_actors), worker);
}

StatusOr<std::unique_ptr<CoreWorker>> CoreWorker::Connect(const std::string& socket_path,
                                                          wire::Role role,
                                                          const WorkerID& worker_id) {
  RAYX_ASSIGN_OR_RETURN(auto connection, NodeConnection::Connect(socket_path, role, worker_id));
  std::unique_ptr<CoreWorker> core(new CoreWorker(std::move(connection)));
  if (role == wire::Role::Driver) core->current_task_ = TaskID::ForDriver(core->welcome().job_id);
  return core;
}

CoreWorker::CoreWorker(std::unique_ptr<NodeConnection> connection)
    : connection_(std::move(connection)),
      reporter_(std::make_shared<MappingReporter>(connection_.get())) {
  connection_->SetFrameHandler([this](uint64_t link, std::string frame) { OnFrame(link, std::move(frame)); });
  flusher_ = std::thread([this] { FlushLoop(); });
}

CoreWorker::~CoreWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  flush_cv_.notify_all();
  flusher_.join();
  FlushRemovals();  // A clean disconnect frees them anyway; an orderly one says so.
  reporter_->Detach();
}

void MappingReporter::Report(const ObjectID& id, bool mapped) {
  if (getpid() != pid_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (connection_ == nullptr) return;
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = PackIds(b, std::vector<ObjectID>{id});
  wire::RefCountUpdateBuilder u(b);
  if (mapped) {
    u.add_mapped(ids);
  } else {
    u.add_unmapped(ids);
  }
  (void)connection_->Send(FinishEnvelope(b, u.Finish()));  // A lost connection unmaps everything.
}

void MappingReporter::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  connection_ = nullptr;
}

JobID CoreWorker::job_id() const {
  TaskID task = current_task();
  return task.IsNil() ? welcome().job_id : task.Job();
}

TaskID CoreWorker::current_task() const {
  if (t_task.set) return t_task.task;
  std::lock_guard<std::mutex> lock(mu_);
  return current_task_;
}

void CoreWorker::SetCurrentTask(const TaskID& task_id, std::optional<uint32_t> depth,
                                uint32_t attempt) {
  if (depth.has_value()) last_depth_ = *depth;
  t_task.set = !task_id.IsNil();
  t_task.task = task_id;
  t_task.attempt = static_cast<uint64_t>(attempt & 0xffff) << 48;
  t_task.depth = depth.value_or(last_depth_.load());
  t_task.submitted = 0;
  t_task.put = 0;
}

TaskID CoreWorker::NextTaskId() {
  if (t_task.set) return TaskID::ForChild(t_task.task.Job(), t_task.task, t_task.attempt + t_task.submitted++);
  std::lock_guard<std::mutex> lock(mu_);
  return TaskID::ForChild(current_task_.Job(), current_task_, submitted_++);
}

StatusOr<flatbuffers::Offset<wire::ObjectValue>> CoreWorker::BuildValue(
    flatbuffers::FlatBufferBuilder& b, const ObjectID& id, const OutgoingValue& value,
    bool* in_shm_out) {
  std::vector<size_t> sizes;
  for (const ByteSpan& buffer : value.buffers) sizes.push_back(buffer.size);
  ObjectLayout layout = ComputeObjectLayout(value.data.size, sizes);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
  bool in_shm = layout.total_size > kInlineThreshold && value.kind != ValueKind::kSystemError;
  if (in_shm_out != nullptr) *in_shm_out = in_shm;
  if (value.kind == ValueKind::kSystemError) {
    // A system error is its text ("CODE: message"), not a serialized object.
    data = b.CreateVector(value.data.data, value.data.size);
  } else if (in_shm) {
    // Written under a temporary name and renamed, so that readers never see a partial object and
    // a retried task replaces what an earlier attempt left.
    std::string path = welcome().session_dir + "/" + id.Hex();
    std::string temp = path + ".tmp" + std::to_string(getpid());
    (void)RemoveObjectFile(temp);
    RAYX_RETURN_IF_ERROR(WriteObjectFile(temp, layout, value.data, value.buffers));
    if (rename(temp.c_str(), path.c_str()) != 0) {
      int e = errno;
      (void)RemoveObjectFile(temp);
      return ErrnoError("seal object file " + path, e);
    }
  } else {
    uint8_t* out = nullptr;
    data = b.CreateUninitializedVector(layout.total_size, &out);
    WriteObject(layout, value.data, value.buffers, out);
  }
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  auto contained = PackIds(b, value.contained);
  auto contained_actors = PackIds(b, value.contained_actors);
  wire::ObjectValueBuilder vb(b);
  vb.add_object_id(object_id);
  vb.add_kind(static_cast<wire::ValueKind>(value.kind));
  if (!in_shm) vb.add_data(data);
  vb.add_in_shm(in_shm);
  vb.add_shm_size(in_shm ? layout.total_size : 0);
  vb.add_contained(contained);
  vb.add_contained_actors(contained_actors);
  return vb.Finish();
}

StatusOr<ObjectID> CoreWorker::Put(const OutgoingValue& value) {
  ObjectID id;
  if (t_task.set) id = ObjectID::ForPut(t_task.task, t_task.put++);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!t_task.set) id = ObjectID::ForPut(current_task_, put_++);
    announced_.insert(id);  // The PutObject itself tells the node that this process holds it.
  }
  PromoteNamed(value.contained);
  flatbuffers::FlatBufferBuilder b(256 + (value.data.size < kInlineThreshold ? value.data.size : 0));
  bool in_shm = false;
  RAYX_ASSIGN_OR_RETURN(auto wire_value, BuildValue(b, id, value, &in_shm));
  if (!in_shm) {
    RAYX_RETURN_IF_ERROR(SendToNode(FinishEnvelope(b, wire::CreatePutObject(b, wire_value))));
    return id;
  }
  // Capacity is enforced after the write, not reserved before it: one round trip per large put
  // instead of two, and the store is over its capacity by at most the objects being written at
  // that moment. The reply comes once the node has spilled enough to be within capacity again.
  uint64_t request_id = connection_->NextRequestId();
  RAYX_ASSIGN_OR_RETURN(std::string frame,
                        CallNode(request_id, FinishEnvelope(b, wire::CreatePutObject(b, wire_value, request_id))));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::PutReply* reply = envelope->message_as_PutReply();
  if (reply == nullptr) return ProtocolError("expected PutReply");
  std::string error = StringOf(reply->error());
  if (!error.empty()) return OutOfMemory(error);
  return id;
}

StatusOr<StoreStats> CoreWorker::ObjectStoreStats() {
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  auto request = wire::CreateObjectStoreStatsRequest(b, request_id);
  RAYX_ASSIGN_OR_RETURN(std::string frame, CallNode(request_id, FinishEnvelope(b, request)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::ObjectStoreStatsReply* r = envelope->message_as_ObjectStoreStatsReply();
  if (r == nullptr) return ProtocolError("expected ObjectStoreStatsReply");
  StoreStats s;
  s.capacity = r->capacity();
  s.used = r->used();
  s.num_objects = r->num_objects();
  s.num_in_memory = r->num_in_memory();
  s.num_spilled = r->num_spilled();
  s.spilled_bytes = r->spilled_bytes();
  s.spill_count = r->spill_count();
  s.spill_bytes_total = r->spill_bytes_total();
  s.restore_count = r->restore_count();
  s.restore_bytes_total = r->restore_bytes_total();
  s.store_dir = StringOf(r->store_dir());
  s.spill_dir = StringOf(r->spill_dir());
  return s;
}

StatusOr<IncomingValue> CoreWorker::ReadValue(const wire::ObjectValue* value,
                                              bool report_mapped) const {
  IncomingValue in;
  in.kind = static_cast<ValueKind>(value->kind());
  if (value->in_shm()) {
    RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(value->object_id()));
    if (report_mapped) reporter_->Report(id, true);
    auto region = MapObjectFile(welcome().session_dir + "/" + id.Hex());
    if (!region.ok()) {
      reporter_->Report(id, false);
      return region.status();
    }
    std::shared_ptr<MappingReporter> reporter = reporter_;
    in.mapping = std::shared_ptr<MappedRegion>(new MappedRegion(std::move(region).value()),
                                               [reporter, id](MappedRegion* r) {
                                                 delete r;
                                                 reporter->Report(id, false);
                                               });
  } else {
    in.inline_data = std::string(BytesOf(value->data()));
  }
  return in;
}

StatusOr<std::vector<IncomingValue>> CoreWorker::Get(const std::vector<ObjectID>& ids,
                                                     int64_t timeout_ms, bool* timed_out) {
  *timed_out = false;
  auto start = std::chrono::steady_clock::now();
  RAYX_ASSIGN_OR_RETURN(bool finished, WaitForDirect(ids, timeout_ms));
  if (!finished) {
    *timed_out = true;
    return std::vector<IncomingValue>();
  }
  if (auto local = LocalValues(ids); local.has_value()) return std::move(*local);
  if (timeout_ms >= 0) {
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    timeout_ms = std::max<int64_t>(0, timeout_ms - spent.count());
  }
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  PromoteNamed(ids);
  auto get = wire::CreateGetObjects(b, request_id, PackIds(b, ids), timeout_ms);
  RAYX_ASSIGN_OR_RETURN(std::string frame, CallNode(request_id, FinishEnvelope(b, get)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::GetReply* reply = envelope->message_as_GetReply();
  if (reply == nullptr) return ProtocolError("expected GetReply");
  *timed_out = reply->timed_out();
  std::vector<IncomingValue> values;
  if (reply->timed_out()) return values;
  if (reply->values() == nullptr || reply->values()->size() != ids.size()) {
    return ProtocolError("GetReply holds the wrong number of values");
  }
  Status failed;
  for (const auto* value : *reply->values()) {
    if (!failed.ok()) {
      // The node counted a mapping for each shared-memory value of its reply: give them back.
      auto id = UnpackId<ObjectID>(value->object_id());
      if (value->in_shm() && id.ok()) reporter_->Report(*id, false);
      continue;
    }
    auto in = ReadValue(value, /*report_mapped=*/false);
    if (!in.ok()) {
      failed = in.status();
      continue;
    }
    values.push_back(std::move(in).value());
  }
  if (!failed.ok()) return failed;
  return values;
}

StatusOr<std::vector<bool>> CoreWorker::Wait(const std::vector<ObjectID>& ids,
                                             uint32_t num_returns, int64_t timeout_ms) {
  {
    // Enough results here already: the node need not be asked.
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<bool> ready(ids.size());
    uint32_t count = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      ready[i] = local_values_.count(ids[i]) != 0;
      count += ready[i];
    }
    if (count >= num_returns && count > 0) return ready;
  }
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  PromoteNamed(ids);
  auto wait = wire::CreateWaitObjects(b, request_id, PackIds(b, ids), num_returns, timeout_ms);
  RAYX_ASSIGN_OR_RETURN(std::string frame, CallNode(request_id, FinishEnvelope(b, wait)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::WaitReply* reply = envelope->message_as_WaitReply();
  if (reply == nullptr || reply->ready() == nullptr || reply->ready()->size() != ids.size()) {
    return ProtocolError("malformed WaitReply");
  }
  std::vector<bool> ready;
  for (uint8_t flag : *reply->ready()) ready.push_back(flag != 0);
  return ready;
}

std::string CoreWorker::TakeRemovals() {
  std::vector<ObjectID> ids;
  std::string frames;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (removals_.empty() && pending_frames_.empty()) return std::string();
    frames.swap(pending_frames_);
    if (!removals_.empty()) ids = removals_.Take();
  }
  if (ids.empty()) return frames;
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  auto packed = PackIds(b, ids);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> none;
  AppendFrame(&frames, FinishEnvelope(b, wire::CreateRefCountUpdate(b, none, packed)));
  return frames;
}

Status CoreWorker::SendToNode(std::string_view envelope) {
  std::lock_guard<std::mutex> order(order_mu_);
  std::string pending = TakeRemovals();
  if (pending.empty()) return connection_->Send(envelope);
  return connection_->SendFramed(pending, envelope);
}

StatusOr<std::string> CoreWorker::CallNode(uint64_t request_id, std::string_view envelope) {
  FlushRemovals();  // Not with the request: order_mu_ must not be held while the call waits.
  return connection_->Call(request_id, envelope);
}

void CoreWorker::FlushRemovals() {
  std::lock_guard<std::mutex> order(order_mu_);
  std::string pending = TakeRemovals();
  // A lost connection frees everything anyway.
  if (!pending.empty()) (void)connection_->SendFramed(pending, std::string_view());
}

void CoreWorker::FlushLoop() {
  // Short enough that an idle process frees what it dropped promptly, long enough that a busy
  // one sends its removals with its own frames.
  constexpr auto kRemovalDelay = std::chrono::milliseconds(5);
  // It also reads the links of leased workers when no other thread does, and gives back the
  // leases that went unused for a while.
  auto idle = [this] { return removals_.empty() && pending_frames_.empty() && leases_.empty(); };
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (idle()) {
      flusher_asleep_ = true;
      flush_cv_.wait(lock, [&] { return stopping_ || !idle(); });
      flusher_asleep_ = false;
      continue;
    }
    if (flush_cv_.wait_for(lock, kRemovalDelay, [&] { return stopping_; })) break;
    bool leasing = !leases_.empty();
    lock.unlock();
    FlushRemovals();
    if (leasing) {
      connection_->Poll();
      ReturnIdleLeases(kLeaseIdle);
    }
    lock.lock();
  }
}

void CoreWorker::SendRefUpdate(const ObjectID& id, bool added) {
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = PackIds(b, std::vector<ObjectID>{id});
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> none;
  auto update = added ? wire::CreateRefCountUpdate(b, ids, none) : wire::CreateRefCountUpdate(b, none, ids);
  (void)connection_->Send(FinishEnvelope(b, update));  // A lost connection frees everything anyway.
}

void CoreWorker::AddRef(const ObjectID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refs_.find(id);
    if (it != refs_.end()) {  // Held already: the node need not hear of it.
      ++it->second;
      return;
    }
  }
  // A 0 -> 1 change: decided and sent under order_mu_, so that it cannot pass a removal of the
  // same id that is being sent by another thread.
  std::lock_guard<std::mutex> order(order_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refs_[id]++ != 0) return;
    if (announced_.erase(id) != 0) return;  // The node counts this process as a holder already.
    if (removals_.Cancel(id)) return;       // Its removal was not sent: the node still counts it.
  }
  SendRefUpdate(id, true);
}

void CoreWorker::RemoveRef(const ObjectID& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = refs_.find(id);
  if (it == refs_.end()) return;
  if (--it->second > 0) return;
  refs_.erase(it);
  local_values_.erase(id);
  promoted_.erase(id);
  // Wakes the flusher only when it sleeps without a deadline (the first removal in a while).
  if (removals_.empty() && flusher_asleep_) flush_cv_.notify_one();
  removals_.Defer(id);
}

Status CoreWorker::ExportFunction(const std::string& function_id, ByteSpan blob) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exported_.emplace(function_id, true).second) return Status::OK();
    // Kept for the leased workers that will need it (direct submission).
    function_blobs_.emplace(function_id, std::string(reinterpret_cast<const char*>(blob.data), blob.size));
  }
  flatbuffers::FlatBufferBuilder b(64 + blob.size);
  auto id = b.CreateVector(reinterpret_cast<const uint8_t*>(function_id.data()), function_id.size());
  auto data = b.CreateVector(blob.data, blob.size);
  return SendToNode(FinishEnvelope(b, wire::CreateExportFunction(b, id, data)));
}

StatusOr<std::vector<ObjectID>> CoreWorker::SubmitTask(const TaskSubmission& task) {
  TaskID task_id = NextTaskId();
  std::vector<ObjectID> returns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t i = 0; i < task.num_returns; ++i) {
      returns.push_back(ObjectID::ForReturn(task_id, i));
      announced_.insert(returns.back());  // SubmitTask tells the node that this process holds them.
    }
  }
  uint32_t depth = (t_task.set ? t_task.depth : last_depth_.load()) + 1;
  std::string shape = DirectShape(task);
  bool request_lease = false;
  std::optional<DirectTarget> target;
  if (!shape.empty()) target = PickLease(task, task_id, shape, &request_lease);
  const WorkerID* direct_worker = nullptr;
  if (target.has_value() && SendDirect(*target, task, task_id, depth)) direct_worker = &target->worker_id;
  flatbuffers::FlatBufferBuilder b(256 + task.args.size);
  auto spec = BuildTaskSpec(b, task, task_id, depth, SpecExtras{direct_worker});
  std::string_view submit = FinishEnvelope(b, wire::CreateSubmitTask(b, spec));
  if (direct_worker != nullptr) {
    // The node hears of it with the next frame this process sends it.
    std::unique_lock<std::mutex> lock(mu_);
    if (pending_frames_.empty() && removals_.empty() && flusher_asleep_) flush_cv_.notify_one();
    AppendFrame(&pending_frames_, submit);
    AnnouncedOn(lock, shape, *target);
    return returns;
  }
  PromoteNamed(task.dependencies);
  PromoteNamed(task.contained);
  RAYX_RETURN_IF_ERROR(SendToNode(submit));
  if (request_lease) RequestLease(task, shape);
  return returns;
}

StatusOr<ActorLookup> CoreWorker::ActorCall(uint64_t request_id, std::string_view envelope) {
  RAYX_ASSIGN_OR_RETURN(std::string frame, CallNode(request_id, envelope));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* parsed, ParseEnvelope(frame));
  const wire::ActorReply* reply = parsed->message_as_ActorReply();
  if (reply == nullptr) return ProtocolError("expected ActorReply");
  if (reply->error() != nullptr && reply->error()->size() != 0) {
    return InvalidArgument(StringOf(reply->error()));
  }
  ActorLookup lookup;
  RAYX_ASSIGN_OR_RETURN(lookup.id, UnpackId<ActorID>(reply->actor_id()));
  lookup.handle_meta = std::string(BytesOf(reply->handle_meta()));
  return lookup;
}

StatusOr<ActorLookup> CoreWorker::CreateActor(const ActorCreation& creation) {
  const TaskSubmission& task = creation.task;
  PromoteNamed(task.dependencies);
  PromoteNamed(task.contained);
  TaskID task_id = NextTaskId();
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(512 + task.args.size + creation.handle_meta.size());
  SpecExtras extras;
  extras.actor_creation = true;
  extras.max_concurrency = creation.max_concurrency;
  auto spec = BuildTaskSpec(b, task, task_id, /*depth=*/0, extras);
  auto lifetime = PackResources(b, creation.lifetime_resources);
  auto actor_name = b.CreateString(creation.name);
  auto ns = b.CreateString(creation.ns);
  auto meta = b.CreateVector(reinterpret_cast<const uint8_t*>(creation.handle_meta.data()),
                             creation.handle_meta.size());
  auto create = wire::CreateCreateActor(b, request_id, spec, lifetime, creation.max_restarts,
                                        creation.max_task_retries, actor_name, ns, creation.detached,
                                        creation.get_if_exists, meta);
  return ActorCall(request_id, FinishEnvelope(b, create));
}

StatusOr<ActorLookup> CoreWorker::GetActor(const std::string& name, const std::string& ns) {
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(128);
  auto get = wire::CreateGetActor(b, request_id, b.CreateString(name), b.CreateString(ns));
  return ActorCall(request_id, FinishEnvelope(b, get));
}

Status CoreWorker::KillActor(const ActorID& id, bool no_restart) {
  flatbuffers::FlatBufferBuilder b(64);
  auto actor_id = b.CreateVector(id.data(), ActorID::kSize);
  return SendToNode(FinishEnvelope(b, wire::CreateKillActor(b, actor_id, no_restart)));
}

void CoreWorker::SendActorRefUpdate(const ActorID& id, bool added) {
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = b.CreateVector(id.data(), ActorID::kSize);
  wire::RefCountUpdateBuilder ub(b);
  if (added) {
    ub.add_actors_added(ids);
  } else {
    ub.add_actors_removed(ids);
  }
  (void)connection_->Send(FinishEnvelope(b, ub.Finish()));
}

void CoreWorker::AddActorRef(const ActorID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (actor_refs_[id]++ != 0) return;
  }
  SendActorRefUpdate(id, true);
}

void CoreWorker::RemoveActorRef(const ActorID& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = actor_refs_.find(id);
    if (it == actor_refs_.end()) return;
    if (--it->second > 0) return;
    actor_refs_.erase(it);
  }
  SendActorRefUpdate(id, false);
}

Status CoreWorker::Cancel(const ObjectID& id, bool force) {
  flatbuffers::FlatBufferBuilder b(64);
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  return SendToNode(FinishEnvelope(b, wire::CreateCancelTask(b, object_id, force)));
}

StatusOr<std::string> CoreWorker::Info() {
  // Idle leases first, so that the resources they hold count as available (they would go back
  // within kLeaseIdle anyway).
  ReturnIdleLeases(std::chrono::steady_clock::duration::zero());
  uint64_t request_id = connection_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  return CallNode(request_id, FinishEnvelope(b, wire::CreateInfoRequest(b, request_id)));
}

std::optional<std::string> CoreWorker::NextTask(bool* interrupted) {
  // Not flushed here (one system call per task fewer): the flusher sends what waits within
  // kRemovalDelay when the worker waits long for its next task.
  uint64_t link = 0;
  std::optional<std::string> frame = connection_->NextTask(interrupted, &link);
  if (!frame.has_value()) return frame;
  // Verified when it arrived.
  const wire::TaskSpec* spec = wire::GetEnvelope(frame->data())->message_as_ExecuteTask()->spec();
  if (spec == nullptr) return frame;
  // An actor's worker takes calls from the node only (their order is the node's to keep).
  if (spec->actor_creation()) connection_->StopListening();
  std::string_view name = spec->name() == nullptr ? std::string_view() : spec->name()->string_view();
  std::unique_lock<std::mutex> lock(mu_);
  if (link == 0) {
    name_at_node_ = name;  // The node named the worker when it sent the task.
    return frame;
  }
  // A direct task: its TaskDone goes back on the same link (and to the node).
  auto task_id = UnpackId<TaskID>(spec->task_id());
  if (task_id.ok()) task_links_[*task_id] = link;
  if (name != name_at_node_) {
    name_at_node_ = name;
    lock.unlock();
    flatbuffers::FlatBufferBuilder b(64 + name.size());
    (void)SendToNode(FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString(name))));
  }
  return frame;
}

Status CoreWorker::TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results,
                            bool retry) {
  for (const OutgoingValue& result : results) PromoteNamed(result.contained);
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::ObjectValue>> values;
  bool any_in_shm = false;
  for (uint32_t i = 0; i < results.size(); ++i) {
    bool in_shm = false;
    RAYX_ASSIGN_OR_RETURN(auto value, BuildValue(b, ObjectID::ForReturn(task_id, i), results[i], &in_shm));
    values.push_back(value);
    any_in_shm |= in_shm;
  }
  auto id = b.CreateVector(task_id.data(), TaskID::kSize);
  std::string_view done = FinishEnvelope(b, wire::CreateTaskDone(b, id, b.CreateVector(values), retry));
  uint64_t link = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = task_links_.find(task_id);
    if (it != task_links_.end()) {
      link = it->second;
      task_links_.erase(it);
    } else {
      name_at_node_.clear();  // The node forgets the name when a task it sent ends.
    }
  }
  if (link == 0) return SendToNode(done);
  // A direct task: the owner first, it waits for this (a closed link means the owner is gone;
  // the node's copy is what counts). The node's report goes with the next frame to the node, or
  // within kRemovalDelay, unless a result is in shared memory (the owner reads that one from the
  // node). The owner sends the node the results that another process may be waiting for.
  (void)connection_->SendOnLink(link, done);
  // Batched only when the owner can stand in for it: one small result holding no references
  // (see CoreWorker::OnDirectDone).
  bool owner_keeps = results.size() == 1 && !any_in_shm && results[0].contained.empty() &&
                     results[0].contained_actors.empty() && !retry;
  if (!owner_keeps) return SendToNode(done);
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_frames_.empty() && removals_.empty() && flusher_asleep_) flush_cv_.notify_one();
  AppendFrame(&pending_frames_, done);
  return Status::OK();
}

}  // namespace rayx
