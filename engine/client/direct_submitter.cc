#include "engine/client/direct_submitter.h"

#include <flatbuffers/flatbuffers.h>

#include "engine/base/logging.h"
#include "engine/client/task_spec_builder.h"
#include "engine/client/value_io.h"
#include "engine/wire/messages.h"

namespace rayx {

std::string DirectShape(const TaskSubmission& task) {
  if (!task.dependencies.empty() || !task.contained.empty() || !task.contained_actors.empty() ||
      !task.actor_id.IsNil() || task.num_returns != 1 || task.args.size > kInlineThreshold ||
      task.has_placement() || task.streaming) {
    return std::string();
  }
  // A map key only: names and the amounts' bytes (no number formatting on this path; short enough
  // for the string's inline buffer with one resource). Never empty, which means "not direct".
  std::string shape = "s";
  for (const auto& [resource, amount] : task.resources) {
    // GPU ids come with node grants: the node's own GPUs, and a placement group bundle's
    // (GPU_group_*, whose ids the bundle reserved).
    if ((resource == "GPU" || resource.rfind("GPU_group_", 0) == 0) && amount > 0) {
      return std::string();
    }
    shape.append(resource).push_back('=');
    shape.append(reinterpret_cast<const char*>(&amount), sizeof(amount));
  }
  return shape;
}

DirectSubmitter::DirectSubmitter(NodeChannel* channel, ReferenceCounter* refs)
    : channel_(channel), refs_(refs) {
  channel_->AddFrameTaker(
      [this](uint64_t link, std::string& frame) { return OnFrame(link, frame); });
  channel_->AddUpkeep([this] { return Upkeep(); });
  refs_->SetReleaseListener([this](const ObjectID& id) { OnRelease(id); });
}

void DirectSubmitter::RememberFunction(const std::string& function_id, ByteSpan blob) {
  std::lock_guard<std::mutex> lock(mu_);
  function_blobs_.emplace(function_id,
                          std::string(reinterpret_cast<const char*>(blob.data), blob.size));
}

bool DirectSubmitter::TrySubmit(const TaskSubmission& task, const TaskID& task_id,
                                const TaskID& parent, uint32_t depth, const std::string& shape,
                                std::string_view job_namespace, bool* request_lease) {
  std::optional<Target> target = PickLease(task, task_id, shape, request_lease);
  if (!target.has_value() || !SendDirect(*target, task, task_id, depth, job_namespace)) {
    return false;
  }
  flatbuffers::FlatBufferBuilder b(256 + task.args.size);
  SpecExtras extras;
  extras.direct_worker = &target->worker_id;
  extras.parent = parent;
  extras.job_namespace = job_namespace;
  auto spec = BuildTaskSpec(b, task, task_id, depth, extras);
  std::string_view announcement = FinishEnvelope(b, wire::CreateSubmitTask(b, spec));
  std::unique_lock<std::mutex> lock(mu_);
  channel_->Defer(announcement);  // The node hears of it with the next frame this process sends.
  AnnouncedOn(lock, shape, *target);
  return true;
}

std::optional<DirectSubmitter::Target> DirectSubmitter::PickLease(const TaskSubmission& task,
                                                                  const TaskID& task_id,
                                                                  const std::string& shape,
                                                                  bool* request_lease) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(shape);
  if (it == leases_.end()) {
    *request_lease = disabled_.count(shape) == 0;
    return std::nullopt;
  }
  Lease* lease = it->second.get();
  if (lease->link == 0 || lease->revoked || lease->in_flight > 0) return std::nullopt;
  auto known = function_blobs_.find(task.function_id);
  if (known == function_blobs_.end()) return std::nullopt;  // Exported elsewhere: the node has it.
  Target target;
  target.link = lease->link;
  target.worker_id = lease->worker_id;
  if (lease->functions_sent.insert(task.function_id).second) target.blob = known->second;
  lease->in_flight += 2;  // Its result, and its announcement.
  pending_[task_id] = lease;
  return target;
}

bool DirectSubmitter::SendDirect(const Target& target, const TaskSubmission& task,
                                 const TaskID& task_id, uint32_t depth,
                                 std::string_view job_namespace) {
  flatbuffers::FlatBufferBuilder b(256 + task.args.size + target.blob.size());
  SpecExtras extras;
  extras.job_namespace = job_namespace;
  auto spec = BuildTaskSpec(b, task, task_id, depth, extras);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> function_blob;
  if (!target.blob.empty()) {
    function_blob =
        b.CreateVector(reinterpret_cast<const uint8_t*>(target.blob.data()), target.blob.size());
  }
  auto execute = wire::CreateExecuteTask(b, spec, function_blob, 0, task.max_retries);
  if (channel_->connection().SendOnLink(target.link, FinishEnvelope(b, execute)).ok()) {
    direct_task_count_++;
    return true;
  }
  // The worker is gone: the node's path takes the task. The link's closing drops the lease (and
  // may have done so already, with this task's entry).
  std::lock_guard<std::mutex> lock(mu_);
  auto pending = pending_.find(task_id);
  if (pending != pending_.end()) {
    pending->second->in_flight -= 2;
    pending->second->functions_sent.erase(task.function_id);
    pending_.erase(pending);
  }
  return false;
}

void DirectSubmitter::AnnouncedOn(std::unique_lock<std::mutex>& lock, const std::string& shape,
                                  const Target& target) {
  auto it = leases_.find(shape);
  if (it == leases_.end() || it->second->link != target.link) return;  // Gone with its link.
  Lease* lease = it->second.get();
  lease->in_flight--;
  if (lease->revoked && lease->in_flight == 0) ReturnLease(lock, shape);
}

void DirectSubmitter::RequestLease(const TaskSubmission& task, const std::string& shape) {
  uint64_t key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.count(shape) != 0) return;
    auto lease = std::make_unique<Lease>();
    key = lease->key = next_lease_key_++;
    lease->shape = shape;
    leases_.emplace(shape, std::move(lease));
  }
  channel_->Wake();  // The flusher keeps the lease (see Upkeep).
  flatbuffers::FlatBufferBuilder b(128);
  auto request = wire::CreateRequestLease(b, key, PackResources(b, task.resources));
  (void)channel_->Send(FinishEnvelope(b, request));  // A lost connection fails everything anyway.
}

bool DirectSubmitter::OnFrame(uint64_t link, const std::string& frame) {
  if (link != 0 && frame.empty()) {
    OnLinkClosed(link);
    return true;
  }
  // Verified when it arrived.
  const wire::Envelope* envelope = wire::GetEnvelope(frame.data());
  if (envelope->message_as_TaskDone() != nullptr && link != 0) {
    OnResult(link, frame);
  } else if (const wire::LeaseGranted* granted = envelope->message_as_LeaseGranted()) {
    std::optional<WorkerID> worker_id;
    if (granted->worker_id() != nullptr && granted->worker_id()->size() != 0) {
      auto id = UnpackId<WorkerID>(granted->worker_id());
      if (!id.ok()) return true;
      worker_id = *id;
    }
    OnLeaseGranted(granted->lease_key(), worker_id ? &*worker_id : nullptr,
                   StringOf(granted->socket_path()));
  } else if (const wire::RevokeLease* revoke = envelope->message_as_RevokeLease()) {
    auto worker_id = UnpackId<WorkerID>(revoke->worker_id());
    if (worker_id.ok()) OnRevokeLease(*worker_id);
  } else {
    return false;
  }
  return true;
}

void DirectSubmitter::OnLeaseGranted(uint64_t lease_key, const WorkerID* worker_id,
                                     const std::string& socket_path) {
  if (worker_id == nullptr) {
    // Refused: this shape takes the node's path from now on.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = leases_.begin(); it != leases_.end(); ++it) {
      if (it->second->key != lease_key || it->second->granted) continue;
      disabled_.insert(it->first);
      leases_.erase(it);
      break;
    }
    return;
  }
  std::string shape;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [lease_shape, lease] : leases_) {
      if (lease->key == lease_key && !lease->granted) shape = lease_shape;
    }
  }
  StatusOr<uint64_t> link = Unavailable("not asked for");
  if (!shape.empty()) {
    link = channel_->connection().OpenLink(socket_path, wire::Role::Driver,
                                           channel_->welcome().worker_id);
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto it = shape.empty() ? leases_.end() : leases_.find(shape);
  if (it == leases_.end() || !link.ok()) {
    if (!link.ok() && it != leases_.end()) {
      // Usually the worker died since the grant: the next task asks again. A shape whose workers
      // cannot be reached time after time takes the node's path for good.
      if (++link_failures_[shape] >= kMaxLinkFailures) {
        RAYX_LOG(Warning) << "direct task submission to workers keeps failing (tasks of that shape "
                             "take the node's path from now on): "
                          << link.status();
        disabled_.insert(shape);
      }
      leases_.erase(it);
    }
    lock.unlock();
    SendReturnLease(*worker_id);
    if (link.ok()) channel_->connection().CloseLink(*link);
    return;
  }
  link_failures_.erase(shape);
  Lease* lease = it->second.get();
  lease->granted = true;
  lease->worker_id = *worker_id;
  lease->link = *link;
  lease->idle_since = std::chrono::steady_clock::now();
}

void DirectSubmitter::OnRevokeLease(const WorkerID& worker_id) {
  std::unique_lock<std::mutex> lock(mu_);
  for (auto& [shape, lease] : leases_) {
    if (!lease->granted || lease->worker_id != worker_id) continue;
    lease->revoked = true;
    if (lease->in_flight == 0) ReturnLease(lock, shape);  // Releases the lock.
    return;
  }
}

void DirectSubmitter::ReturnLease(std::unique_lock<std::mutex>& lock, const std::string& shape) {
  auto it = leases_.find(shape);
  WorkerID worker_id = it->second->worker_id;
  uint64_t link = it->second->link;
  leases_.erase(it);
  lock.unlock();
  channel_->connection().CloseLink(link);
  SendReturnLease(worker_id);  // After the announcements of the tasks it ran: they wait in front.
}

void DirectSubmitter::SendReturnLease(const WorkerID& worker_id) {
  flatbuffers::FlatBufferBuilder b(64);
  auto id = b.CreateVector(worker_id.data(), WorkerID::kSize);
  (void)channel_->Send(FinishEnvelope(b, wire::CreateReturnLease(b, id)));
}

void DirectSubmitter::ReturnIdleLeases(std::chrono::steady_clock::duration min_idle) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::string idle;
    for (const auto& [shape, lease] : leases_) {
      if (lease->granted && lease->in_flight == 0 && now - lease->idle_since >= min_idle) {
        idle = shape;
      }
    }
    if (idle.empty()) return;
    ReturnLease(lock, idle);
    lock.lock();
  }
}

bool DirectSubmitter::Upkeep() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.empty()) return false;
  }
  channel_->connection().Poll();
  ReturnIdleLeases(kLeaseIdle);
  std::lock_guard<std::mutex> lock(mu_);
  return !leases_.empty();
}

void DirectSubmitter::OnResult(uint64_t link, const std::string& frame) {
  const wire::TaskDone* done = wire::GetEnvelope(frame.data())->message_as_TaskDone();
  auto task_id = UnpackId<TaskID>(done->task_id());
  if (!task_id.ok()) return;
  std::unique_lock<std::mutex> lock(mu_);
  auto pending = pending_.find(*task_id);
  if (pending == pending_.end() || pending->second->link != link) return;
  Lease* lease = pending->second;
  pending_.erase(pending);
  lease->in_flight--;
  lease->idle_since = std::chrono::steady_clock::now();
  // Kept here when it is the result for good, small, and holds no references (the node must
  // count those, from the worker's report); otherwise a get asks the node, which hears from the
  // worker too. Such a result is also sent to the node at once when another process may wait for
  // it there (the worker's report of it is batched).
  const auto* results = done->results();
  ObjectID id = ObjectID::ForReturn(*task_id, 0);
  auto empty = [](const flatbuffers::Vector<uint8_t>* ids) {
    return ids == nullptr || ids->size() == 0;
  };
  bool plain = !done->retry() && results != nullptr && results->size() == 1 &&
               !results->Get(0)->in_shm() && empty(results->Get(0)->contained()) &&
               empty(results->Get(0)->contained_actors()) &&
               results->Get(0)->kind() <= wire::ValueKind::MAX;
  bool promote = promote_on_arrival_.erase(*task_id) != 0 && plain;
  if (plain) {
    auto kind = static_cast<ValueKind>(results->Get(0)->kind());
    std::string_view data = BytesOf(results->Get(0)->data());
    if (promote) DeferPromotion(id, kind, data);
    if (refs_->IsHeld(id)) {
      if (promote) promoted_.insert(id);
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
    channel_->Flush();
  }
}

void DirectSubmitter::OnRelease(const ObjectID& id) {
  std::lock_guard<std::mutex> lock(mu_);
  local_values_.erase(id);
  promoted_.erase(id);
}

void DirectSubmitter::ForgetLocal(const std::vector<ObjectID>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const ObjectID& id : ids) local_values_.erase(id);
}

void DirectSubmitter::PromoteNamed(const std::vector<ObjectID>& ids) {
  if (ids.empty()) return;  // Most results name no object: no lock for those.
  std::lock_guard<std::mutex> lock(mu_);
  if (local_values_.empty() && pending_.empty()) return;
  for (const ObjectID& id : ids) {
    if (promoted_.count(id) != 0) continue;
    if (auto local = local_values_.find(id); local != local_values_.end()) {
      DeferPromotion(id, local->second.kind, local->second.inline_data);
      promoted_.insert(id);
    } else if (pending_.count(id.Task()) != 0) {
      promote_on_arrival_.insert(id.Task());
    }
  }
}

void DirectSubmitter::DeferPromotion(const ObjectID& id, ValueKind kind, std::string_view data) {
  flatbuffers::FlatBufferBuilder b(128 + data.size());
  auto value = ValueIo::BuildInline(b, id, kind, data);
  channel_->Defer(FinishEnvelope(b, wire::CreatePutObject(b, value, 0, /*promotion=*/true)));
}

void DirectSubmitter::OnLinkClosed(uint64_t link) {
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
    for (auto pending = pending_.begin(); pending != pending_.end();) {
      if (pending->second != lease) {
        ++pending;
        continue;
      }
      promote_on_arrival_.erase(pending->first);
      pending = pending_.erase(pending);
    }
    leases_.erase(it);
  }
  // Given back too, in case the worker lives on (it dropped the link): the node ignores the
  // return of a worker that is gone.
  SendReturnLease(worker_id);
}

bool DirectSubmitter::AnyPending(const std::vector<ObjectID>& ids) const {
  if (pending_.empty()) return false;
  for (const ObjectID& id : ids) {
    if (pending_.count(id.Task()) != 0) return true;
  }
  return false;
}

StatusOr<bool> DirectSubmitter::WaitForResults(const std::vector<ObjectID>& ids,
                                               int64_t timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AnyPending(ids)) return true;
  }
  bool interrupted = false;
  bool done = channel_->connection().WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return !AnyPending(ids);
      },
      timeout_ms, &interrupted);
  if (interrupted) return Cancelled("interrupted while waiting for a task's result");
  if (done) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (!AnyPending(ids)) return true;
  if (timeout_ms >= 0) return false;
  return Unavailable("the connection to the node was lost");
}

std::optional<std::vector<IncomingValue>> DirectSubmitter::LocalValues(
    const std::vector<ObjectID>& ids) {
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

uint32_t DirectSubmitter::MarkLocal(const std::vector<ObjectID>& ids, std::vector<bool>* ready) {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t count = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    bool here = local_values_.count(ids[i]) != 0;
    (*ready)[i] = here;
    count += here;
  }
  return count;
}

}  // namespace rayx
