#include "engine/client/task_executor.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>

#include "engine/wire/messages.h"

namespace rayx {

TaskExecutor::TaskExecutor(NodeChannel* channel, TaskContext* context, ValueIo* io,
                           DirectSubmitter* direct)
    : channel_(channel), context_(context), io_(io), direct_(direct) {
  channel_->AddFrameTaker(
      [this](uint64_t link, std::string& frame) { return HandleFrame(link, frame); });
}

StatusOr<bool> TaskExecutor::NextTask(TaskToRun* task, bool* interrupted) {
  taker_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  // The results held since the last wait (TaskDone, HoldUntilWait) go now unless another task is
  // here already: in a burst they travel together, within kSoonDelay; a lone call's caller waits
  // for none. Other frames that wait (a direct task's report) are left to the flusher, as before.
  if (channel_->connection().HasQueuedTask()) {
    channel_->ArmHeld();  // They go within kSoonDelay, or when the queue is done.
  } else {
    channel_->FlushSoon();
  }
  uint64_t link = 0;
  std::optional<std::string> frame = channel_->connection().NextTask(interrupted, &link);
  if (!frame.has_value()) return false;
  task->frame = std::move(*frame);
  // Verified when it arrived (NodeConnection verifies every frame it routes).
  const wire::Envelope* envelope = wire::GetEnvelope(task->frame.data());
  if (const wire::CancelTask* cancel = envelope->message_as_CancelTask()) {
    // A cancel notice (EnableCancelNotices), queued by HandleFrame.
    RAYX_ASSIGN_OR_RETURN(ObjectID object_id, UnpackId<ObjectID>(cancel->object_id()));
    task->task_id = object_id.Task();
    task->cancel_notice = true;
    return true;
  }
  task->cancel_notice = false;
  const wire::ExecuteTask* execute = envelope->message_as_ExecuteTask();
  if (execute == nullptr) return ProtocolError("a queued task that is not an ExecuteTask");
  const wire::TaskSpec* spec = execute->spec();
  if (spec == nullptr) return ProtocolError("ExecuteTask without a spec");
  RAYX_ASSIGN_OR_RETURN(task->task_id, UnpackId<TaskID>(spec->task_id()));
  // An actor's worker takes calls from the node only (their order is the node's to keep).
  if (spec->actor_creation()) channel_->connection().StopListening();
  std::string_view name =
      spec->name() == nullptr ? std::string_view() : spec->name()->string_view();
  {
    std::unique_lock<std::mutex> lock(mu_);
    task->cancelled = cancelled_.count(task->task_id) != 0;
    if (link == 0) {
      name_at_node_ = name;  // The node named the worker when it sent the task.
    } else {
      // A direct task: its TaskDone goes back on the same link (and to the node).
      task_links_[task->task_id] = link;
      if (name != name_at_node_) {
        name_at_node_ = name;
        lock.unlock();
        flatbuffers::FlatBufferBuilder b(64 + name.size());
        (void)channel_->Send(FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString(name))));
      }
    }
  }
  context_->SetCurrentTask(task->task_id, spec->depth(), execute->attempt());
  std::string_view job_namespace =
      spec->job_namespace() == nullptr ? std::string_view() : spec->job_namespace()->string_view();
  if (spec->actor_creation()) {
    context_->SetProcessNamespace(job_namespace, /*actor=*/true);
  } else {
    context_->SetTaskNamespace(job_namespace);
  }
  task->function_id = BytesOf(spec->function_id());
  task->has_function_blob = execute->function_blob() != nullptr;
  task->function_blob = BytesOf(execute->function_blob());
  task->name = name;
  task->args = BytesOf(spec->args());
  task->method = spec->method() == nullptr ? std::string_view() : spec->method()->string_view();
  task->returns.clear();
  for (uint32_t i = 0; i < spec->num_returns(); ++i) {
    task->returns.push_back(ObjectID::ForReturn(task->task_id, i));
  }
  task->retries_left = execute->retries_left();
  task->attempt = execute->attempt();
  task->resources.clear();
  if (link == 0 && execute->resources_as_before()) {
    for (const auto& [name, amount] : node_resources_) task->resources.emplace_back(name, amount);
  } else if (spec->resources() != nullptr) {
    for (const auto* amount : *spec->resources()) {
      if (amount->name() == nullptr) continue;
      task->resources.emplace_back(amount->name()->string_view(), amount->amount());
    }
  }
  if (link == 0 && !execute->resources_as_before() && spec->resources() != nullptr) {
    node_resources_.assign(task->resources.begin(), task->resources.end());
  }
  task->gpu_ids.clear();
  if (execute->gpu_ids() != nullptr) {
    task->gpu_ids.assign(execute->gpu_ids()->begin(), execute->gpu_ids()->end());
  }
  task->actor_creation = spec->actor_creation();
  task->max_concurrency = spec->max_concurrency();
  task->dependency_values.clear();
  if (execute->dependency_values() != nullptr) {
    task->dependency_values.reserve(execute->dependency_values()->size());
    for (const auto* value : *execute->dependency_values()) {
      RAYX_ASSIGN_OR_RETURN(IncomingValue in, io_->Read(value, /*report_mapped=*/true));
      task->dependency_values.push_back(std::move(in));
    }
  }
  return true;
}

Status TaskExecutor::SetOutputName(std::string_view name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (name == name_at_node_) return Status::OK();
    name_at_node_ = name;
  }
  flatbuffers::FlatBufferBuilder b(64 + name.size());
  return channel_->Send(
      FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString(name.data(), name.size()))));
}

bool TaskExecutor::HandleFrame(uint64_t link, const std::string& frame) {
  if (link != 0 || frame.empty()) return false;
  // Verified when it arrived.
  const wire::CancelTask* cancel = wire::GetEnvelope(frame.data())->message_as_CancelTask();
  if (cancel == nullptr) return false;
  auto object_id = UnpackId<ObjectID>(cancel->object_id());
  if (!object_id.ok()) return true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_.insert(object_id->Task()).second) return true;
    cancelled_order_.push_back(object_id->Task());
    if (cancelled_order_.size() > kMaxCancelled) {
      cancelled_.erase(cancelled_order_.front());
      cancelled_order_.pop_front();
    }
  }
  if (notices_) channel_->connection().QueueForNextTask(frame);
  return true;
}

bool TaskExecutor::Cancelled(const TaskID& task_id, int wait_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.count(task_id) != 0) return true;
  }
  // A CancelTask the node sent before its signal is in the socket by now (the node signals once
  // it is written): read everything that has arrived.
  channel_->connection().ReadArrived(wait_ms);
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_.count(task_id) != 0;
}

Status TaskExecutor::TaskDone(const TaskID& task_id, const std::vector<OutgoingValue>& results,
                              bool retry, ReportTiming timing) {
  for (const OutgoingValue& result : results) direct_->PromoteNamed(result.contained);
  flatbuffers::FlatBufferBuilder b(256);
  std::vector<flatbuffers::Offset<wire::ObjectValue>> values;
  values.reserve(results.size());
  bool any_in_shm = false;
  for (uint32_t i = 0; i < results.size(); ++i) {
    bool in_shm = false;
    RAYX_ASSIGN_OR_RETURN(auto value,
                          io_->Build(b, ObjectID::ForReturn(task_id, i), results[i], &in_shm));
    values.push_back(value);
    any_in_shm |= in_shm;
  }
  auto id = b.CreateVector(task_id.data(), TaskID::kSize);
  std::string_view done =
      FinishEnvelope(b, wire::CreateTaskDone(b, id, b.CreateVector(values), retry));
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
  if (link == 0) {
    if (timing != ReportTiming::kNow && WaitsForOthers(results)) {
      channel_->HoldBriefly(done, timing == ReportTiming::kSoon);
      return Status::OK();
    }
    if (taker_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      channel_->HoldUntilWait(done);  // NextTask sends it before it waits (see taker_).
      return Status::OK();
    }
    return channel_->Send(done);
  }
  // A direct task: the owner first, it waits for this (a closed link means the owner is gone;
  // the node's copy is what counts). The node's report waits for the next frame to the node
  // unless a result is in shared memory (the owner reads that one from the node).
  (void)channel_->connection().SendOnLink(link, done);
  // Batched only when the owner can stand in for it (see DirectSubmitter::OnResult).
  bool owner_keeps = results.size() == 1 && !any_in_shm && results[0].contained.empty() &&
                     results[0].contained_actors.empty() && !retry;
  if (!owner_keeps) return channel_->Send(done);
  channel_->Defer(done);
  return Status::OK();
}

bool TaskExecutor::WaitsForOthers(const std::vector<OutgoingValue>& results) {
  if (results.size() != 1) return false;
  const OutgoingValue& result = results[0];
  return result.buffers.empty() && result.contained.empty() && result.contained_actors.empty() &&
         result.data.size <= kMaxWaitingReport;
}

}  // namespace rayx
