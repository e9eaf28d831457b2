#include "engine/node/task_spec.h"

#include "engine/node/wire_values.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

// Room for a table, its vtable and the alignment of its fields: more than any of these messages
// needs for each table or vector beyond the bytes it carries.
constexpr size_t kTableOverhead = 128;
// The bound allows this many GPU ids whatever the allocation, so that a task checked before it has
// resources (ExecuteTaskFits) still fits when it is sent with them.
constexpr size_t kMaxGpuIds = 1024;

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> Bytes(flatbuffers::FlatBufferBuilder& b,
                                                        std::string_view bytes) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

size_t ExecuteTaskBound(const TaskSpec& spec, const ExecuteExtras& extras) {
  size_t bound = 8 * kTableOverhead + TaskID::kSize + ActorID::kSize + spec.function_id.size() +
                 spec.name.size() + spec.args.size() + spec.method.size() +
                 spec.job_namespace.size() + spec.dependencies.size() * ObjectID::kSize +
                 kMaxGpuIds * sizeof(int32_t);
  if (extras.function_blob != nullptr) bound += extras.function_blob->size();
  for (const StoredValue* value : extras.dependency_values) bound += StoredValueWireBound(*value);
  if (!spec.is_actor_call() && !spec.actor_creation) {
    for (const auto& [resource, units] : spec.resources.units()) {
      bound += 2 * kTableOverhead + resource.size() + sizeof(double);
    }
  }
  return bound;
}

}  // namespace

StatusOr<TaskSpec> ParseTaskSpec(const wire::TaskSpec* spec) {
  if (spec == nullptr) return ProtocolError("missing task spec");
  TaskSpec out;
  RAYX_ASSIGN_OR_RETURN(out.task_id, UnpackId<TaskID>(spec->task_id()));
  out.function_id = std::string(BytesOf(spec->function_id()));
  out.name = StringOf(spec->name());
  out.args = std::string(BytesOf(spec->args()));
  RAYX_ASSIGN_OR_RETURN(out.dependencies, UnpackIds<ObjectID>(spec->dependencies()));
  RAYX_ASSIGN_OR_RETURN(out.contained, UnpackIds<ObjectID>(spec->contained()));
  RAYX_ASSIGN_OR_RETURN(out.contained_actors, UnpackIds<ActorID>(spec->contained_actors()));
  if (spec->num_returns() > kMaxNumReturns) {
    return ProtocolError("a task with " + std::to_string(spec->num_returns()) +
                         " returns, over the limit of " + std::to_string(kMaxNumReturns));
  }
  out.num_returns = spec->num_returns();
  out.max_retries = spec->max_retries();
  if (spec->actor_id() != nullptr && spec->actor_id()->size() != 0) {
    RAYX_ASSIGN_OR_RETURN(out.actor_id, UnpackId<ActorID>(spec->actor_id()));
  }
  out.method = StringOf(spec->method());
  out.actor_creation = spec->actor_creation();
  out.max_concurrency = spec->max_concurrency();
  out.depth = spec->depth();
  if (spec->affinity_node() != nullptr && spec->affinity_node()->size() != 0) {
    RAYX_ASSIGN_OR_RETURN(out.affinity_node, UnpackId<NodeID>(spec->affinity_node()));
  }
  out.affinity_soft = spec->affinity_soft();
  out.spread = spec->spread();
  out.refusable = spec->refusable();
  out.first_attempt = spec->attempt();
  out.retry_exceptions = spec->retry_exceptions();
  if (spec->parent() != nullptr && spec->parent()->size() != 0) {
    RAYX_ASSIGN_OR_RETURN(out.parent, UnpackId<TaskID>(spec->parent()));
  }
  out.streaming = spec->streaming();
  if (spec->job_namespace() != nullptr) out.job_namespace = spec->job_namespace()->str();
  if (spec->direct_worker() != nullptr && spec->direct_worker()->size() != 0) {
    RAYX_ASSIGN_OR_RETURN(out.direct_worker, UnpackId<WorkerID>(spec->direct_worker()));
  }
  if (!out.is_actor_call()) {
    RAYX_ASSIGN_OR_RETURN(out.resources, ResourcesFromWire(spec->resources()));
  }
  return out;
}

flatbuffers::Offset<wire::TaskSpec> BuildTaskSpec(flatbuffers::FlatBufferBuilder& b,
                                                  const TaskSpec& spec, bool refusable,
                                                  uint32_t attempt) {
  auto task_id = b.CreateVector(spec.task_id.data(), TaskID::kSize);
  auto function_id = Bytes(b, spec.function_id);
  auto name = b.CreateString(spec.name);
  auto args = Bytes(b, spec.args);
  auto deps = PackIds(b, spec.dependencies);
  auto contained = PackIds(b, spec.contained);
  auto contained_actors = PackIds(b, spec.contained_actors);
  auto resources = ResourcesToWire(b, spec.resources);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> actor_id;
  if (!spec.actor_id.IsNil()) actor_id = b.CreateVector(spec.actor_id.data(), ActorID::kSize);
  auto method = b.CreateString(spec.method);
  flatbuffers::Offset<flatbuffers::String> job_namespace;
  if (!spec.job_namespace.empty()) job_namespace = b.CreateString(spec.job_namespace);
  wire::TaskSpecBuilder sb(b);
  sb.add_task_id(task_id);
  sb.add_function_id(function_id);
  sb.add_name(name);
  sb.add_args(args);
  sb.add_dependencies(deps);
  sb.add_contained(contained);
  sb.add_contained_actors(contained_actors);
  sb.add_num_returns(spec.num_returns);
  sb.add_resources(resources);
  sb.add_max_retries(spec.max_retries);
  sb.add_retry_exceptions(spec.retry_exceptions);
  if (!actor_id.IsNull()) sb.add_actor_id(actor_id);
  sb.add_method(method);
  sb.add_actor_creation(spec.actor_creation);
  sb.add_max_concurrency(spec.max_concurrency);
  sb.add_depth(spec.depth);
  sb.add_refusable(refusable);
  sb.add_attempt(attempt);
  if (!job_namespace.IsNull()) sb.add_job_namespace(job_namespace);
  return sb.Finish();
}

bool ExecuteTaskFits(const TaskSpec& spec, const ExecuteExtras& extras) {
  return extras.gpu_ids.size() <= kMaxGpuIds && ExecuteTaskBound(spec, extras) <= kMaxFrameSize;
}

StatusOr<std::string_view> BuildExecuteTask(flatbuffers::FlatBufferBuilder& b, const TaskSpec& spec,
                                            const ExecuteExtras& extras) {
  if (!ExecuteTaskFits(spec, extras)) {
    return InvalidArgument("task " + spec.name + " needs a message of more than " +
                           std::to_string(kMaxFrameSize) +
                           " bytes to reach a worker (its arguments held inline are too large)");
  }
  if (extras.dependency_values.size() != spec.dependencies.size()) {
    return InvalidArgument("task " + spec.name + ": one value per dependency is needed");
  }
  auto task_id = b.CreateVector(spec.task_id.data(), TaskID::kSize);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> function_id;
  if (!spec.is_actor_call()) function_id = Bytes(b, spec.function_id);
  auto name = b.CreateString(spec.name);
  auto args = Bytes(b, spec.args);
  auto deps = PackIds(b, spec.dependencies);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> actor_id;
  if (spec.actor_creation) {
    actor_id = b.CreateVector(ActorID::Of(spec.task_id).data(), ActorID::kSize);
  } else if (spec.is_actor_call()) {
    actor_id = b.CreateVector(spec.actor_id.data(), ActorID::kSize);
  }
  flatbuffers::Offset<flatbuffers::String> method;
  if (spec.is_actor_call()) method = b.CreateString(spec.method);
  flatbuffers::Offset<flatbuffers::String> job_namespace;
  if (!spec.job_namespace.empty()) job_namespace = b.CreateString(spec.job_namespace);
  // A task's worker is told what it holds (get_assigned_resources); an actor's knows its own.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> resources;
  if (!spec.is_actor_call() && !spec.actor_creation && !extras.resources_as_before) {
    resources = ResourcesToWire(b, spec.resources);
  }
  wire::TaskSpecBuilder sb(b);
  sb.add_task_id(task_id);
  if (!spec.is_actor_call()) sb.add_function_id(function_id);
  sb.add_name(name);
  sb.add_args(args);
  sb.add_dependencies(deps);
  // The creation task returns nothing: the actor is its result.
  sb.add_num_returns(spec.actor_creation ? 0 : spec.num_returns);
  if (!actor_id.IsNull()) sb.add_actor_id(actor_id);
  if (spec.is_actor_call()) sb.add_method(method);
  if (!resources.IsNull()) sb.add_resources(resources);
  if (spec.actor_creation) {
    sb.add_actor_creation(true);
    sb.add_max_concurrency(spec.max_concurrency);
  }
  // An actor's calls run at the depth of the actor's worker, which the node never tells.
  if (spec.actor_id.IsNil() && !spec.actor_creation) sb.add_depth(spec.depth);
  if (!job_namespace.IsNull()) sb.add_job_namespace(job_namespace);
  auto wire_spec = sb.Finish();

  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> blob;
  if (extras.function_blob != nullptr) blob = Bytes(b, *extras.function_blob);
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ObjectValue>>> dep_values;
  if (!spec.dependencies.empty()) {
    std::vector<flatbuffers::Offset<wire::ObjectValue>> values;
    values.reserve(spec.dependencies.size());
    for (size_t i = 0; i < spec.dependencies.size(); ++i) {
      values.push_back(StoredValueToWire(b, spec.dependencies[i], *extras.dependency_values[i]));
    }
    dep_values = b.CreateVector(values);
  }
  flatbuffers::Offset<flatbuffers::Vector<int32_t>> gpu_ids;
  if (!extras.gpu_ids.empty()) gpu_ids = b.CreateVector(extras.gpu_ids);
  wire::ExecuteTaskBuilder eb(b);
  eb.add_spec(wire_spec);
  if (!blob.IsNull()) eb.add_function_blob(blob);
  if (!dep_values.IsNull()) eb.add_dependency_values(dep_values);
  eb.add_retries_left(extras.retries_left);
  if (!gpu_ids.IsNull()) eb.add_gpu_ids(gpu_ids);
  eb.add_attempt(extras.attempt);
  if (extras.resources_as_before) eb.add_resources_as_before(true);
  return FinishEnvelope(b, eb.Finish());
}

}  // namespace rayx
