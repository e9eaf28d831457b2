// Direct submission: the owner's side (see core_worker.h and protocol.fbs).
//
// One lease per resource shape. A task goes straight to its shape's leased worker when that worker
// has nothing in flight from this process; otherwise it takes the node's path, so a long task on
// the leased worker never holds up others, and the node keeps balancing the rest. The lease is
// given back when the node asks for it (other work waits for its resources) and nothing is in
// flight, or when it has gone unused for kLeaseIdle.
#include <chrono>

#include "embed/core/core_worker.h"
#include "engine/base/logging.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {
// Failed links to granted workers of one shape, in a row, before that shape stops leasing.
constexpr int kMaxLinkFailures = 5;
}  // namespace

std::string DirectShape(const TaskSubmission& task) {
  if (!task.dependencies.empty() || !task.contained.empty() || !task.contained_actors.empty() ||
      !task.actor_id.IsNil() || task.num_returns != 1 || task.args.size > kInlineThreshold) {
    return std::string();
  }
  // A map key only: names and the amounts' bytes (no number formatting on this path; short enough
  // for the string's inline buffer with one resource). Never empty, which means "not direct".
  std::string shape = "s";
  for (const auto& [resource, amount] : task.resources) {
    if (resource == "GPU" && amount > 0) return std::string();  // GPU ids come with node grants.
    shape.append(resource).push_back('=');
    shape.append(reinterpret_cast<const char*>(&amount), sizeof(amount));
  }
  return shape;
}

std::optional<CoreWorker::DirectTarget> CoreWorker::PickLease(const TaskSubmission& task,
                                                             const TaskID& task_id,
                                                             const std::string& shape,
                                                             bool* request_lease) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(shape);
  if (it == leases_.end()) {
    *request_lease = direct_disabled_.count(shape) == 0;
    return std::nullopt;
  }
  Lease* lease = it->second.get();
  if (lease->link == 0 || lease->revoked || lease->in_flight > 0) return std::nullopt;
  auto known = function_blobs_.find(task.function_id);
  if (known == function_blobs_.end()) return std::nullopt;  // Exported by another path: the node sends it.
  DirectTarget target;
  target.link = lease->link;
  target.worker_id = lease->worker_id;
  if (lease->functions_sent.insert(task.function_id).second) target.blob = known->second;
  lease->in_flight += 2;  // Its result, and its announcement.
  direct_pending_[task_id] = lease;
  return target;
}

void CoreWorker::AnnouncedOn(std::unique_lock<std::mutex>& lock, const std::string& shape,
                             const DirectTarget& target) {
  auto it = leases_.find(shape);
  if (it == leases_.end() || it->second->link != target.link) return;  // Gone with its link.
  Lease* lease = it->second.get();
  lease->in_flight--;
  if (lease->revoked && lease->in_flight == 0) ReturnLease(lock, shape);
}

bool CoreWorker::SendDirect(const DirectTarget& target, const TaskSubmission& task,
                            const TaskID& task_id, uint32_t depth) {
  flatbuffers::FlatBufferBuilder b(256 + task.args.size + target.blob.size());
  auto spec = BuildTaskSpec(b, task, task_id, depth);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> function_blob;
  if (!target.blob.empty()) {
    function_blob = b.CreateVector(reinterpret_cast<const uint8_t*>(target.blob.data()), target.blob.size());
  }
  auto execute = wire::CreateExecuteTask(b, spec, function_blob, 0, task.max_retries);
  if (connection_->SendOnLink(target.link, FinishEnvelope(b, execute)).ok()) {
    direct_task_count_++;
    return true;
  }
  // The worker is gone: the node's path takes the task. The link's closing drops the lease (and
  // may have done so already, with this task's entry).
  std::lock_guard<std::mutex> lock(mu_);
  auto pending = direct_pending_.find(task_id);
  if (pending != direct_pending_.end()) {
    pending->second->in_flight -= 2;
    pending->second->functions_sent.erase(task.function_id);
    direct_pending_.erase(pending);
  }
  return false;
}

void CoreWorker::RequestLease(const TaskSubmission& task, const std::string& shape) {
  uint64_t key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.count(shape) != 0) return;
    auto lease = std::make_unique<Lease>();
    key = lease->key = next_lease_key_++;
    lease->shape = shape;
    leases_.emplace(shape, std::move(lease));
    if (flusher_asleep_) flush_cv_.notify_one();
  }
  flatbuffers::FlatBufferBuilder b(128);
  auto request = wire::CreateRequestLease(b, key, PackResources(b, task.resources));
  (void)SendToNode(FinishEnvelope(b, request));  // A lost connection fails everything anyway.
}

void CoreWorker::OnFrame(uint64_t link, std::string frame) {
  if (link != 0 && frame.empty()) {
    OnLinkClosed(link);
    return;
  }
  // Verified when it arrived.
  const wire::Envelope* envelope = wire::GetEnvelope(frame.data());
  if (const wire::TaskDone* done = envelope->message_as_TaskDone(); done != nullptr && link != 0) {
    OnDirectDone(link, done);
  } else if (const wire::LeaseGranted* granted = envelope->message_as_LeaseGranted(); granted != nullptr) {
    OnLeaseGranted(granted);
  } else if (const wire::RevokeLease* revoke = envelope->message_as_RevokeLease(); revoke != nullptr) {
    auto worker_id = UnpackId<WorkerID>(revoke->worker_id());
    if (worker_id.ok()) OnRevokeLease(*worker_id);
  }
}

void CoreWorker::OnLeaseGranted(const wire::LeaseGranted* granted) {
  if (granted->worker_id() == nullptr || granted->worker_id()->size() == 0) {
    // Refused: this shape takes the node's path from now on.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = leases_.begin(); it != leases_.end(); ++it) {
      if (it->second->key != granted->lease_key() || it->second->granted) continue;
      direct_disabled_.insert(it->first);
      leases_.erase(it);
      break;
    }
    return;
  }
  auto worker_id = UnpackId<WorkerID>(granted->worker_id());
  if (!worker_id.ok()) return;
  std::string shape;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [lease_shape, lease] : leases_) {
      if (lease->key == granted->lease_key() && !lease->granted) shape = lease_shape;
    }
  }
  StatusOr<uint64_t> link = Unavailable("not asked for");
  if (!shape.empty()) link = connection_->OpenLink(StringOf(granted->socket_path()), wire::Role::Driver, welcome().worker_id);
  std::unique_lock<std::mutex> lock(mu_);
  auto it = shape.empty() ? leases_.end() : leases_.find(shape);
  if (it == leases_.end() || !link.ok()) {
    if (!link.ok() && it != leases_.end()) {
      // Usually the worker died since the grant: the next task asks again. A shape whose workers
      // cannot be reached time after time takes the node's path for good.
      if (++link_failures_[shape] >= kMaxLinkFailures) {
        RAYX_LOG(Warning) << "direct task submission to workers keeps failing (tasks of that shape "
                             "take the node's path from now on): " << link.status();
        direct_disabled_.insert(shape);
      }
      leases_.erase(it);
    }
    lock.unlock();
    flatbuffers::FlatBufferBuilder b(64);
    auto id = b.CreateVector(worker_id->data(), WorkerID::kSize);
    (void)SendToNode(FinishEnvelope(b, wire::CreateReturnLease(b, id)));
    if (link.ok()) connection_->CloseLink(*link);
    return;
  }
  link_failures_.erase(shape);
  Lease* lease = it->second.get();
  lease->granted = true;
  lease->worker_id = *worker_id;
  lease->link = *link;
  lease->idle_since = std::chrono::steady_clock::now();
}

void CoreWorker::OnRevokeLease(const WorkerID& worker_id) {
  std::unique_lock<std::mutex> lock(mu_);
  for (auto& [shape, lease] : leases_) {
    if (!lease->granted || lease->worker_id != worker_id) continue;
    lease->revoked = true;
    if (lease->in_flight == 0) ReturnLease(lock, shape);  // Releases the lock.
    return;
  }
}

void CoreWorker::ReturnLease(std::unique_lock<std::mutex>& lock, const std::string& shape) {
  auto it = leases_.find(shape);
  WorkerID worker_id = it->second->worker_id;
  uint64_t link = it->second->link;
  leases_.erase(it);
  lock.unlock();
  connection_->CloseLink(link);
  flatbuffers::FlatBufferBuilder b(64);
  auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
  // After the announcements of the tasks it ran (SendToNode sends those first).
  (void)SendToNode(FinishEnvelope(b, wire::CreateReturnLease(b, id)));
}

void CoreWorker::ReturnIdleLeases(std::chrono::steady_clock::duration min_idle) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::string idle;
    for (const auto& [shape, lease] : leases_) {
      if (lease->granted && lease->in_flight == 0 && now - lease->idle_since >= min_idle) idle = shape;
    }
    if (idle.empty()) return;
    ReturnLease(lock, idle);
    lock.lock();
  }
}

void CoreWorker::OnDirectDone(uint64_t link, const wire::TaskDone* done) {
  auto task_id = UnpackId<TaskID>(done->task_id());
  if (!task_id.ok()) return;
  std::unique_lock<std::mutex> lock(mu_);
  auto pending = direct_pending_.find(*task_id);
  if (pending == direct_pending_.end() || pending->second->link != link) return;
  Lease* lease = pending->second;
  direct_pending_.erase(pending);
  lease->in_flight--;
  lease->idle_since = std::chrono::steady_clock::now();
  // Kept here when it is the result for good, small, and holds no references (the node must
  // count those, from the worker's report); otherwise a get asks the node, which hears from the
  // worker too. Such a result is also sent to the node at once when another process may wait for
  // it there (the worker's report of it is batched).
  const auto* results = done->results();
  ObjectID id = ObjectID::ForReturn(*task_id, 0);
  auto empty = [](const flatbuffers::Vector<uint8_t>* ids) { return ids == nullptr || ids->size() == 0; };
  bool plain = !done->retry() && results != nullptr && results->size() == 1 &&
               !results->Get(0)->in_shm() && empty(results->Get(0)->contained()) &&
               empty(results->Get(0)->contained_actors());
  bool promote = promote_on_arrival_.erase(*task_id) != 0 && plain;
  if (plain) {
    auto kind = static_cast<ValueKind>(results->Get(0)->kind());
    std::string_view data = BytesOf(results->Get(0)->data());
    if (promote) AppendPromotion(id, kind, data);
    if (promote && (refs_.count(id) != 0 || announced_.count(id) != 0)) promoted_.insert(id);
    if (refs_.count(id) != 0 || announced_.count(id) != 0) {
      IncomingValue value;
      value.kind = kind;
      value.inline_data = std::string(data);
      local_values_[id] = std::move(value);
    }
  }
  if (lease->revoked && lease->in_flight == 0) {
    ReturnLease(lock, lease->shape);  // Sends the promotion too.
  } else if (promote) {
    lock.unlock();
    FlushRemovals();
  }
}

void CoreWorker::PromoteNamed(const std::vector<ObjectID>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  if (local_values_.empty() && direct_pending_.empty()) return;
  for (const ObjectID& id : ids) {
    if (promoted_.count(id) != 0) continue;
    if (auto local = local_values_.find(id); local != local_values_.end()) {
      AppendPromotion(id, local->second.kind, local->second.inline_data);
      promoted_.insert(id);
    } else if (direct_pending_.count(id.Task()) != 0) {
      promote_on_arrival_.insert(id.Task());
    }
  }
}

void CoreWorker::AppendPromotion(const ObjectID& id, ValueKind kind, std::string_view data) {
  flatbuffers::FlatBufferBuilder b(128 + data.size());
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  wire::ObjectValueBuilder vb(b);
  vb.add_object_id(object_id);
  vb.add_kind(static_cast<wire::ValueKind>(kind));
  vb.add_data(bytes);
  auto value = vb.Finish();
  AppendFrame(&pending_frames_, FinishEnvelope(b, wire::CreatePutObject(b, value, 0, /*promotion=*/true)));
}

void CoreWorker::OnLinkClosed(uint64_t link) {
  WorkerID worker_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.begin();
    while (it != leases_.end() && it->second->link != link) ++it;
    if (it == leases_.end()) return;
    // The worker died (the node knows, and retries or fails its tasks): their results come from
    // the node now.
    Lease* lease = it->second.get();
    worker_id = lease->worker_id;
    for (auto pending = direct_pending_.begin(); pending != direct_pending_.end();) {
      if (pending->second != lease) {
        ++pending;
        continue;
      }
      promote_on_arrival_.erase(pending->first);
      pending = direct_pending_.erase(pending);
    }
    leases_.erase(it);
  }
  // Given back too, in case the worker lives on (it dropped the link): the node ignores the
  // return of a worker that is gone.
  flatbuffers::FlatBufferBuilder b(64);
  auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
  (void)SendToNode(FinishEnvelope(b, wire::CreateReturnLease(b, id)));
}

bool CoreWorker::AnyDirectPending(const std::vector<ObjectID>& ids) {
  if (direct_pending_.empty()) return false;
  for (const ObjectID& id : ids) {
    if (direct_pending_.count(id.Task()) != 0) return true;
  }
  return false;
}

StatusOr<bool> CoreWorker::WaitForDirect(const std::vector<ObjectID>& ids, int64_t timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AnyDirectPending(ids)) return true;
  }
  bool interrupted = false;
  bool done = connection_->WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return !AnyDirectPending(ids);
      },
      timeout_ms, &interrupted);
  if (interrupted) return Cancelled("interrupted while waiting for a task's result");
  if (done) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (!AnyDirectPending(ids)) return true;
  if (timeout_ms >= 0) return false;
  return Unavailable("the connection to the node was lost");
}

std::optional<std::vector<IncomingValue>> CoreWorker::LocalValues(const std::vector<ObjectID>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  if (local_values_.empty()) return std::nullopt;
  std::vector<IncomingValue> values;
  values.reserve(ids.size());
  for (const ObjectID& id : ids) {
    auto it = local_values_.find(id);
    if (it == local_values_.end()) return std::nullopt;
    values.push_back(it->second);
  }
  return values;
}

}  // namespace rayx
