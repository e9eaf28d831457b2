#include "engine/node/task_spec.h"

#include <gtest/gtest.h>

#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

// A SubmitTask frame around a spec, as a client sends it, verified like the node's input.
struct SpecFrame {
  flatbuffers::FlatBufferBuilder b;
  const wire::TaskSpec* spec = nullptr;
};

void Finish(SpecFrame* frame, flatbuffers::Offset<wire::TaskSpec> spec) {
  std::string_view bytes = FinishEnvelope(frame->b, wire::CreateSubmitTask(frame->b, spec));
  auto envelope = ParseEnvelope(bytes);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  frame->spec = (*envelope)->message_as_SubmitTask()->spec();
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> Bytes(flatbuffers::FlatBufferBuilder& b,
                                                        std::string_view s) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(TaskSpecTest, ParsesEveryField) {
  TaskID id = TaskID::FromRandom();
  ObjectID dep = ObjectID::ForReturn(TaskID::FromRandom(), 0);
  ObjectID nested = ObjectID::ForReturn(TaskID::FromRandom(), 1);
  ActorID handle = ActorID::Of(TaskID::FromRandom());
  SpecFrame f;
  auto& b = f.b;
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts = {
      wire::CreateResourceAmount(b, b.CreateString("CPU"), 2)};
  auto spec = wire::CreateTaskSpec(
      b, b.CreateVector(id.data(), TaskID::kSize), Bytes(b, "fn"), b.CreateString("f"),
      Bytes(b, "args"), PackIds(b, std::vector<ObjectID>{dep}),
      PackIds(b, std::vector<ObjectID>{nested}),
      /*num_returns=*/3, b.CreateVector(amounts), /*max_retries=*/4, false, 0, 0, false, 0,
      /*depth=*/2, PackIds(b, std::vector<ActorID>{handle}));
  Finish(&f, spec);
  StatusOr<TaskSpec> parsed = ParseTaskSpec(f.spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->task_id, id);
  EXPECT_EQ(parsed->function_id, "fn");
  EXPECT_EQ(parsed->name, "f");
  EXPECT_EQ(parsed->args, "args");
  EXPECT_EQ(parsed->dependencies, std::vector<ObjectID>{dep});
  EXPECT_EQ(parsed->contained, std::vector<ObjectID>{nested});
  EXPECT_EQ(parsed->contained_actors, std::vector<ActorID>{handle});
  EXPECT_EQ(parsed->num_returns, 3u);
  EXPECT_EQ(parsed->max_retries, 4);
  EXPECT_EQ(parsed->depth, 2u);
  EXPECT_EQ(parsed->resources.Get("CPU"), 2);
  EXPECT_FALSE(parsed->is_actor_call());
  EXPECT_FALSE(parsed->is_direct());
}

// Found by //engine/node:envelope_fuzz_test: the node made every return of a task with 2^32 - 1
// returns before it looked further, and its loop stopped answering.
TEST(TaskSpecTest, TooManyReturnsIsAProtocolError) {
  TaskID id = TaskID::FromRandom();
  for (uint32_t num_returns : {kMaxNumReturns, kMaxNumReturns + 1, UINT32_MAX}) {
    SpecFrame f;
    Finish(&f, wire::CreateTaskSpec(f.b, f.b.CreateVector(id.data(), TaskID::kSize), 0, 0, 0, 0, 0,
                                    num_returns));
    StatusOr<TaskSpec> parsed = ParseTaskSpec(f.spec);
    if (num_returns <= kMaxNumReturns) {
      EXPECT_TRUE(parsed.ok()) << parsed.status();
    } else {
      EXPECT_EQ(parsed.status().code(), StatusCode::kProtocolError);
    }
  }
}

TEST(TaskSpecTest, MalformedIdsAreProtocolErrors) {
  SpecFrame short_id;
  Finish(&short_id, wire::CreateTaskSpec(short_id.b, Bytes(short_id.b, "short")));
  EXPECT_EQ(ParseTaskSpec(short_id.spec).status().code(), StatusCode::kProtocolError);

  SpecFrame partial_deps;
  TaskID id = TaskID::FromRandom();
  Finish(&partial_deps,
         wire::CreateTaskSpec(partial_deps.b, partial_deps.b.CreateVector(id.data(), TaskID::kSize),
                              0, 0, 0, Bytes(partial_deps.b, "not a whole id")));
  EXPECT_EQ(ParseTaskSpec(partial_deps.spec).status().code(), StatusCode::kProtocolError);

  EXPECT_EQ(ParseTaskSpec(nullptr).status().code(), StatusCode::kProtocolError);
}

TEST(TaskSpecTest, BadResourcesAreRefusedButNotForACall) {
  TaskID id = TaskID::FromRandom();
  ActorID actor = ActorID::Of(TaskID::FromRandom());
  for (bool call : {false, true}) {
    SpecFrame f;
    auto& b = f.b;
    std::vector<flatbuffers::Offset<wire::ResourceAmount>> amounts = {
        wire::CreateResourceAmount(b, b.CreateString("CPU"), -1)};
    auto actor_id = call ? b.CreateVector(actor.data(), ActorID::kSize) : 0;
    Finish(&f, wire::CreateTaskSpec(b, b.CreateVector(id.data(), TaskID::kSize), 0, 0, 0, 0, 0, 1,
                                    b.CreateVector(amounts), 0, false, actor_id));
    StatusOr<TaskSpec> parsed = ParseTaskSpec(f.spec);
    if (call) {
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_TRUE(parsed->is_actor_call());
      EXPECT_EQ(parsed->actor_id, actor);
    } else {
      EXPECT_FALSE(parsed.ok());
      EXPECT_NE(parsed.status().code(), StatusCode::kProtocolError);
    }
  }
}

const wire::ExecuteTask* ParseExecute(std::string_view bytes) {
  auto envelope = ParseEnvelope(bytes);
  EXPECT_TRUE(envelope.ok()) << envelope.status();
  return envelope.ok() ? (*envelope)->message_as_ExecuteTask() : nullptr;
}

TEST(TaskSpecTest, ExecuteTaskWithResourcesAsBeforeLeavesThemOut) {
  TaskSpec spec;
  spec.task_id = TaskID::FromRandom();
  spec.function_id = "fn";
  spec.name = "f";
  spec.resources.Set("CPU", 1);
  ExecuteExtras extras;
  flatbuffers::FlatBufferBuilder first;
  StatusOr<std::string_view> bytes = BuildExecuteTask(first, spec, extras);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const wire::ExecuteTask* execute = ParseExecute(*bytes);
  ASSERT_NE(execute, nullptr);
  EXPECT_FALSE(execute->resources_as_before());
  ASSERT_NE(execute->spec()->resources(), nullptr);
  ASSERT_EQ(execute->spec()->resources()->size(), 1u);
  EXPECT_EQ(StringOf(execute->spec()->resources()->Get(0)->name()), "CPU");
  EXPECT_EQ(execute->spec()->resources()->Get(0)->amount(), 1.0);

  extras.resources_as_before = true;
  flatbuffers::FlatBufferBuilder again;
  bytes = BuildExecuteTask(again, spec, extras);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  execute = ParseExecute(*bytes);
  ASSERT_NE(execute, nullptr);
  EXPECT_TRUE(execute->resources_as_before());
  EXPECT_EQ(execute->spec()->resources(), nullptr);
}

TEST(TaskSpecTest, ExecuteTaskOfATaskCarriesBlobValuesAndDepth) {
  TaskSpec spec;
  spec.task_id = TaskID::FromRandom();
  spec.function_id = "fn";
  spec.name = "f";
  spec.args = "args";
  spec.num_returns = 2;
  spec.depth = 3;
  spec.dependencies = {ObjectID::ForReturn(TaskID::FromRandom(), 0)};
  StoredValue value;
  value.inline_data = "dep";
  std::string blob = "definition";
  ExecuteExtras extras;
  extras.function_blob = &blob;
  extras.dependency_values = {&value};
  extras.retries_left = 5;
  extras.gpu_ids = {1, 3};
  extras.attempt = 7;
  flatbuffers::FlatBufferBuilder b;
  StatusOr<std::string_view> bytes = BuildExecuteTask(b, spec, extras);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const wire::ExecuteTask* execute = ParseExecute(*bytes);
  ASSERT_NE(execute, nullptr);
  EXPECT_EQ(BytesOf(execute->function_blob()), "definition");
  EXPECT_EQ(execute->retries_left(), 5);
  EXPECT_EQ(execute->attempt(), 7u);
  ASSERT_NE(execute->gpu_ids(), nullptr);
  EXPECT_EQ(execute->gpu_ids()->size(), 2u);
  ASSERT_NE(execute->dependency_values(), nullptr);
  EXPECT_EQ(BytesOf(execute->dependency_values()->Get(0)->data()), "dep");
  const wire::TaskSpec* sent = execute->spec();
  EXPECT_EQ(BytesOf(sent->function_id()), "fn");
  EXPECT_EQ(BytesOf(sent->args()), "args");
  EXPECT_EQ(sent->num_returns(), 2u);
  EXPECT_EQ(sent->depth(), 3u);
  EXPECT_EQ(sent->actor_id(), nullptr);
  EXPECT_FALSE(sent->actor_creation());
}

TEST(TaskSpecTest, ExecuteTaskOfACreationAndOfACall) {
  TaskSpec creation;
  creation.task_id = TaskID::FromRandom();
  creation.function_id = "cls";
  creation.actor_creation = true;
  creation.max_concurrency = 4;
  creation.num_returns = 1;
  creation.depth = 7;
  flatbuffers::FlatBufferBuilder b;
  StatusOr<std::string_view> bytes = BuildExecuteTask(b, creation, ExecuteExtras());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const wire::TaskSpec* sent = ParseExecute(*bytes)->spec();
  EXPECT_TRUE(sent->actor_creation());
  EXPECT_EQ(sent->num_returns(), 0u);
  EXPECT_EQ(sent->max_concurrency(), 4);
  EXPECT_EQ(sent->depth(), 0u);
  ASSERT_TRUE(UnpackId<ActorID>(sent->actor_id()).ok());
  EXPECT_EQ(*UnpackId<ActorID>(sent->actor_id()), ActorID::Of(creation.task_id));

  TaskSpec call;
  call.task_id = TaskID::FromRandom();
  call.actor_id = ActorID::Of(creation.task_id);
  call.method = "ping";
  call.depth = 7;
  flatbuffers::FlatBufferBuilder cb;
  bytes = BuildExecuteTask(cb, call, ExecuteExtras());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const wire::ExecuteTask* execute = ParseExecute(*bytes);
  EXPECT_EQ(StringOf(execute->spec()->method()), "ping");
  EXPECT_EQ(execute->spec()->function_id(), nullptr);
  EXPECT_EQ(execute->spec()->depth(), 0u);
  EXPECT_EQ(execute->dependency_values(), nullptr);
  EXPECT_EQ(execute->function_blob(), nullptr);
}

// The job's namespace travels with the task: from the client's spec to the node's, on to the
// worker (ExecuteTask) and to a member the task is forwarded to; none when the spec had none.
TEST(TaskSpecTest, JobNamespaceGoesWhereTheTaskGoes) {
  TaskID id = TaskID::FromRandom();
  SpecFrame f;
  auto task_id = f.b.CreateVector(id.data(), TaskID::kSize);
  auto ns = f.b.CreateString("colors");
  wire::TaskSpecBuilder sb(f.b);
  sb.add_task_id(task_id);
  sb.add_job_namespace(ns);
  Finish(&f, sb.Finish());
  StatusOr<TaskSpec> parsed = ParseTaskSpec(f.spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->job_namespace, "colors");

  flatbuffers::FlatBufferBuilder b;
  StatusOr<std::string_view> bytes = BuildExecuteTask(b, *parsed, ExecuteExtras());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(StringOf(ParseExecute(*bytes)->spec()->job_namespace()), "colors");

  SpecFrame forwarded;
  Finish(&forwarded, BuildTaskSpec(forwarded.b, *parsed));
  StatusOr<TaskSpec> there = ParseTaskSpec(forwarded.spec);
  ASSERT_TRUE(there.ok()) << there.status();
  EXPECT_EQ(there->job_namespace, "colors");

  parsed->job_namespace.clear();
  flatbuffers::FlatBufferBuilder nb;
  bytes = BuildExecuteTask(nb, *parsed, ExecuteExtras());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(ParseExecute(*bytes)->spec()->job_namespace(), nullptr);
}

TEST(TaskSpecTest, TooManyLargeInlineArgumentsDoNotFit) {
  TaskSpec spec;
  spec.task_id = TaskID::FromRandom();
  spec.name = "many";
  StoredValue large;
  large.inline_data.assign(90 * 1024, 'x');
  ExecuteExtras extras;
  // 3,000 arguments of 90 KiB: 270 MB, past the 256 MiB frame limit.
  for (int i = 0; i < 3000; ++i) {
    spec.dependencies.push_back(ObjectID::ForReturn(TaskID::FromRandom(), 0));
    extras.dependency_values.push_back(&large);
  }
  EXPECT_FALSE(ExecuteTaskFits(spec, extras));
  flatbuffers::FlatBufferBuilder b;
  StatusOr<std::string_view> bytes = BuildExecuteTask(b, spec, extras);
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.GetSize(), 0u);  // Nothing was built.

  // Under the limit, the bound holds: the built message is no larger than it allows.
  spec.dependencies.resize(2000);
  extras.dependency_values.resize(2000);
  ASSERT_TRUE(ExecuteTaskFits(spec, extras));
  flatbuffers::FlatBufferBuilder fits;
  bytes = BuildExecuteTask(fits, spec, extras);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_LE(bytes->size(), kMaxFrameSize);
  EXPECT_GT(bytes->size(), 2000u * 90 * 1024);
}

}  // namespace
}  // namespace rayx
