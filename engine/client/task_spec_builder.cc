#include "engine/client/task_spec_builder.h"

#include <vector>

#include "engine/wire/messages.h"

namespace rayx {

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> PackResources(
    flatbuffers::FlatBufferBuilder& b, const std::map<std::string, double>& resources) {
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts;
  amounts.reserve(resources.size());
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
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> affinity;
  if (!task.affinity_node.IsNil()) {
    affinity = b.CreateVector(task.affinity_node.data(), NodeID::kSize);
  }
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> parent;
  if (!extras.parent.IsNil()) parent = b.CreateVector(extras.parent.data(), TaskID::kSize);
  flatbuffers::Offset<flatbuffers::String> job_namespace;
  if (!extras.job_namespace.empty()) {
    job_namespace = b.CreateString(extras.job_namespace.data(), extras.job_namespace.size());
  }
  uint32_t num_returns = extras.actor_creation ? 0 : task.num_returns;
  return wire::CreateTaskSpec(
      b, id, function_id, name, args, deps, contained, num_returns, resources, task.max_retries,
      task.retry_exceptions, actor_id, method, extras.actor_creation, extras.max_concurrency, depth,
      PackIds(b, task.contained_actors), worker, affinity, task.affinity_soft, task.spread,
      /*refusable=*/false, parent, /*attempt=*/0, task.streaming, job_namespace);
}

}  // namespace rayx
