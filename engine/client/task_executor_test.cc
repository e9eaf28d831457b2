#include "engine/client/task_executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/client/direct_submitter.h"
#include "engine/client/fake_node.h"
#include "engine/client/node_connection.h"
#include "engine/client/task_spec_builder.h"
#include "engine/client/value_io.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWaitMs = 5000;
constexpr int kQuietMs = 100;

ByteSpan Span(const std::string& s) {
  return ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

OutgoingValue Value(const std::string& data) {
  OutgoingValue v;
  v.data = Span(data);
  return v;
}

// What an ExecuteTask carries besides its spec.
struct Execute {
  std::string blob;  // Empty: none.
  std::vector<std::string> inline_args;
  std::vector<ObjectID> shm_args;  // Dependency values said to be in shared memory.
  int retries_left = 0;
  std::vector<int> gpu_ids;
  bool actor_creation = false;
  bool resources_as_before = false;  // The spec's resources are left out.
};

std::string ExecuteTaskEnvelope(const TaskSubmission& task, const TaskID& id, uint32_t depth,
                                const Execute& e) {
  flatbuffers::FlatBufferBuilder b(1024);
  SpecExtras extras;
  extras.actor_creation = e.actor_creation;
  TaskSubmission sent = task;
  if (e.resources_as_before) sent.resources.clear();
  auto spec = BuildTaskSpec(b, sent, id, depth, extras);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> blob;
  if (!e.blob.empty()) {
    blob = b.CreateVector(reinterpret_cast<const uint8_t*>(e.blob.data()), e.blob.size());
  }
  std::vector<flatbuffers::Offset<wire::ObjectValue>> values;
  for (size_t i = 0; i < e.inline_args.size(); ++i) {
    ObjectID arg = ObjectID::ForPut(TaskID::FromRandom(), static_cast<uint32_t>(i));
    values.push_back(ValueIo::BuildInline(b, arg, ValueKind::kValue, e.inline_args[i]));
  }
  for (const ObjectID& arg : e.shm_args) {
    auto object_id = b.CreateVector(arg.data(), ObjectID::kSize);
    wire::ObjectValueBuilder vb(b);
    vb.add_object_id(object_id);
    vb.add_in_shm(true);
    vb.add_shm_size(1 << 20);
    values.push_back(vb.Finish());
  }
  auto execute =
      wire::CreateExecuteTask(b, spec, blob, b.CreateVector(values), e.retries_left,
                              b.CreateVector(e.gpu_ids), /*attempt=*/0, e.resources_as_before);
  return std::string(FinishEnvelope(b, execute));
}

// A TaskDone frame's task id and its values' (in_shm, inline data).
struct Done {
  TaskID task_id;
  std::vector<std::pair<bool, std::string>> values;
};
std::optional<Done> AsTaskDone(const std::optional<std::string>& frame) {
  if (MessageType(frame) != wire::Message::TaskDone) return std::nullopt;
  const wire::TaskDone* done = (*ParseEnvelope(*frame))->message_as_TaskDone();
  Done d;
  d.task_id = UnpackId<TaskID>(done->task_id()).value();
  if (done->results() != nullptr) {
    for (const auto* value : *done->results()) {
      d.values.emplace_back(value->in_shm(), std::string(BytesOf(value->data())));
    }
  }
  return d;
}

// A worker's client runtime without Python against a fake node, and an owner (a plain
// connection) that sends it direct tasks on a link.
class TaskExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Worker, worker_id_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    auto give_up_at = Clock::now() + std::chrono::seconds(10);
    (*conn)->SetInterruptCheck([give_up_at] { return Clock::now() >= give_up_at; });
    channel_ = std::make_unique<NodeChannel>(std::move(*conn));
    io_ = std::make_unique<ValueIo>(channel_->welcome().session_dir, &channel_->connection());
    refs_ = std::make_unique<ReferenceCounter>(channel_.get());
    context_ = std::make_unique<TaskContext>(TaskID(), channel_->welcome().job_id);
    direct_ = std::make_unique<DirectSubmitter>(channel_.get(), refs_.get());
    executor_ =
        std::make_unique<TaskExecutor>(channel_.get(), context_.get(), io_.get(), direct_.get());
    node_client_ = node_.WaitForClient(0);
    ASSERT_NE(node_client_, nullptr);

    task_.function_id = "f";
    task_.name = "step";
    task_.args = Span(args_);
    task_.num_returns = 1;
  }
  void TearDown() override {
    if (channel_ != nullptr) channel_->Stop();
  }

  std::optional<std::string> NodeRead(int timeout_ms = kWaitMs) {
    return FakeNode::ReadFrame(node_client_, timeout_ms);
  }

  // An owner with a link to this worker; frames it receives are kept in owner_frames_.
  void ConnectOwner() {
    auto owner = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(owner.ok()) << owner.status();
    owner_ = std::move(*owner);
    owner_->SetFrameHandler([this](uint64_t link, std::string frame) {
      std::lock_guard<std::mutex> lock(owner_mu_);
      owner_frames_.emplace_back(link, std::move(frame));
    });
    ASSERT_NE(node_.WaitForClient(1), nullptr);
    auto link = owner_->OpenLink(DirectSocketPath(node_.socket_path(), worker_id_),
                                 wire::Role::Driver, WorkerID());
    ASSERT_TRUE(link.ok()) << link.status();
    link_ = *link;
  }
  // The next frame the owner received on its link.
  std::optional<std::string> OwnerRead() {
    bool interrupted = false;
    std::optional<std::string> frame;
    owner_->WaitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(owner_mu_);
          if (owner_frames_.empty()) return false;
          frame = std::move(owner_frames_.front().second);
          owner_frames_.erase(owner_frames_.begin());
          return true;
        },
        kWaitMs, &interrupted);
    return frame;
  }

  FakeNode node_;
  FakeNode::Client* node_client_ = nullptr;
  WorkerID worker_id_ = WorkerID::FromRandom();
  std::unique_ptr<NodeChannel> channel_;
  std::unique_ptr<ValueIo> io_;
  std::unique_ptr<ReferenceCounter> refs_;
  std::unique_ptr<TaskContext> context_;
  std::unique_ptr<DirectSubmitter> direct_;
  std::unique_ptr<TaskExecutor> executor_;
  std::unique_ptr<NodeConnection> owner_;
  uint64_t link_ = 0;
  std::mutex owner_mu_;
  std::vector<std::pair<uint64_t, std::string>> owner_frames_;
  std::string args_ = "the arguments";
  TaskSubmission task_;
};

TEST_F(TaskExecutorTest, TaskFromTheNodeIsReadWholeAndItsResultGoesToTheNodeAtOnce) {
  task_.num_returns = 2;
  TaskID id = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), 7);
  Execute e;
  e.blob = "definition";
  e.inline_args = {"first", "second"};
  e.retries_left = 2;
  e.gpu_ids = {1, 3};
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, id, 3, e)).ok());

  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(*got);
  EXPECT_EQ(run.task_id, id);
  EXPECT_EQ(run.function_id, "f");
  EXPECT_TRUE(run.has_function_blob);
  EXPECT_EQ(run.function_blob, "definition");
  EXPECT_EQ(run.name, "step");
  EXPECT_EQ(run.args, args_);
  ASSERT_EQ(run.dependency_values.size(), 2u);
  EXPECT_EQ(run.dependency_values[0].inline_data, "first");
  EXPECT_EQ(run.dependency_values[1].inline_data, "second");
  EXPECT_EQ(run.returns,
            (std::vector<ObjectID>{ObjectID::ForReturn(id, 0), ObjectID::ForReturn(id, 1)}));
  EXPECT_EQ(run.retries_left, 2);
  EXPECT_EQ(run.gpu_ids, (std::vector<int>{1, 3}));
  EXPECT_FALSE(run.actor_creation);
  // What the task submits derives from it, one level deeper.
  EXPECT_EQ(context_->current_task(), id);
  EXPECT_EQ(context_->ChildDepth(), 4u);

  std::string result = "done";
  ASSERT_TRUE(executor_->TaskDone(id, {Value(result), Value(result)}, false).ok());
  auto done = AsTaskDone(NodeRead());
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->task_id, id);
  ASSERT_EQ(done->values.size(), 2u);
  EXPECT_FALSE(done->values[0].first);
}

// With the flusher running, a result reported by the thread that takes the tasks waits for the
// results after it while tasks are queued (they travel in one write), and all go before the
// worker waits for more: the caller of the last task never waits for the flusher.
// The node leaves a task's resources out when they are the last task's it sent (most tasks of a
// worker have one shape): the worker reads them as that task's.
TEST_F(TaskExecutorTest, TaskWithResourcesAsBeforeHasTheLastNodeTasksResources) {
  auto run_one = [this](const TaskSubmission& task, bool as_before) {
    Execute e;
    e.resources_as_before = as_before;
    TaskID id = TaskID::FromRandom();
    EXPECT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task, id, 0, e)).ok());
    TaskToRun run;
    bool interrupted = false;
    auto got = executor_->NextTask(&run, &interrupted);
    EXPECT_TRUE(got.ok() && *got);
    std::vector<std::pair<std::string, double>> resources(run.resources.begin(),
                                                          run.resources.end());
    EXPECT_TRUE(executor_->TaskDone(id, {}, false).ok());
    return resources;
  };
  TaskSubmission gpu_task = task_;
  gpu_task.resources = {{"CPU", 1}, {"GPU", 0.5}};
  using Resources = std::vector<std::pair<std::string, double>>;
  EXPECT_EQ(run_one(task_, true), Resources{});  // None before the first, on both sides.
  EXPECT_EQ(run_one(gpu_task, false), (Resources{{"CPU", 1}, {"GPU", 0.5}}));
  EXPECT_EQ(run_one(gpu_task, true), (Resources{{"CPU", 1}, {"GPU", 0.5}}));
  EXPECT_EQ(run_one(gpu_task, true), (Resources{{"CPU", 1}, {"GPU", 0.5}}));
  TaskSubmission cpu_task = task_;
  cpu_task.resources = {{"CPU", 2}};
  EXPECT_EQ(run_one(cpu_task, false), (Resources{{"CPU", 2}}));
  EXPECT_EQ(run_one(cpu_task, true), (Resources{{"CPU", 2}}));
}

TEST_F(TaskExecutorTest, ResultsOfABurstGoBeforeTheWorkerWaitsAgain) {
  channel_->Start();
  std::vector<TaskID> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), i));
    ASSERT_TRUE(
        FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, ids.back(), 1, Execute{}))
            .ok());
  }
  std::string result = "done";
  for (const TaskID& id : ids) {
    TaskToRun run;
    bool interrupted = false;
    auto got = executor_->NextTask(&run, &interrupted);
    ASSERT_TRUE(got.ok() && *got) << got.status();
    ASSERT_EQ(run.task_id, id);
    ASSERT_TRUE(executor_->TaskDone(id, {Value(result)}, false).ok());
  }
  // The worker now waits for a fourth task; the three results are at the node by then.
  std::thread taker([&] {
    TaskToRun run;
    bool interrupted = false;
    (void)executor_->NextTask(&run, &interrupted);
  });
  for (const TaskID& id : ids) {
    auto done = AsTaskDone(NodeRead());
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->task_id, id);
  }
  channel_->Close();  // Ends the wait.
  taker.join();
}

// An async actor's results (ReportTiming::kAfterFlush) wait for the caller's FlushResults and go
// in one write; the flusher sends them only after kFlushDelay, should the caller not come back.
TEST_F(TaskExecutorTest, ResultsAfterFlushWaitForFlushResultsAndGoTogether) {
  channel_->Start();
  std::string small = "ok";
  TaskID first = TaskID::FromRandom();
  TaskID second = TaskID::FromRandom();
  auto held_at = Clock::now();
  ASSERT_TRUE(executor_->TaskDone(first, {Value(small)}, false, ReportTiming::kAfterFlush).ok());
  ASSERT_TRUE(executor_->TaskDone(second, {Value(small)}, false, ReportTiming::kAfterFlush).ok());
  std::optional<std::string> early = NodeRead(1);
  if (early.has_value()) {  // The flusher's, only once the delay passed (a slow test thread).
    EXPECT_GE(Clock::now() - held_at, kFlushDelay - std::chrono::milliseconds(1))
        << "a held result went before FlushResults and before its delay";
  }
  executor_->FlushResults();
  auto done = AsTaskDone(early.has_value() ? early : NodeRead());
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->task_id, first);
  EXPECT_EQ(node_client_->frames.size(), 1u) << "the second result came in a write of its own";
  done = AsTaskDone(NodeRead());
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->task_id, second);
  EXPECT_FALSE(NodeRead(kQuietMs).has_value()) << "a result was sent twice";
}

// Only one small value that holds no reference may wait: the node needs nothing else for it,
// and building its report makes no system call (the caller keeps the GIL).
TEST_F(TaskExecutorTest, OnlyOneSmallValueWithoutReferencesWaitsForOthers) {
  std::string small(TaskExecutor::kMaxWaitingReport, 'x');
  std::string large(TaskExecutor::kMaxWaitingReport + 1, 'x');
  EXPECT_TRUE(TaskExecutor::WaitsForOthers({Value(small)}));
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({Value(large)}));
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({Value(small), Value(small)}));
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({}));
  OutgoingValue with_ref = Value(small);
  with_ref.contained.push_back(ObjectID::ForPut(TaskID::FromRandom(), 1));
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({with_ref}));
  OutgoingValue with_actor = Value(small);
  with_actor.contained_actors.push_back(ActorID::FromRandom());
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({with_actor}));
  OutgoingValue with_buffer = Value(small);
  with_buffer.buffers.push_back(Span(small));
  EXPECT_FALSE(TaskExecutor::WaitsForOthers({with_buffer}));
}

TEST_F(TaskExecutorTest, DirectTaskAnswersItsOwnerFirstAndItsReportWaitsForTheNextFrame) {
  ConnectOwner();
  TaskID id = TaskID::FromRandom();
  ASSERT_TRUE(owner_->SendOnLink(link_, ExecuteTaskEnvelope(task_, id, 1, Execute{})).ok());
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_FALSE(run.has_function_blob);
  // The node named this worker by no task yet: it hears the direct task's name (for the output
  // prefix).
  auto started = NodeRead();
  ASSERT_EQ(MessageType(started), wire::Message::TaskStarted);

  std::string result = "small";
  ASSERT_TRUE(executor_->TaskDone(id, {Value(result)}, false).ok());
  auto to_owner = AsTaskDone(OwnerRead());
  ASSERT_TRUE(to_owner.has_value());
  EXPECT_EQ(to_owner->task_id, id);
  // The node's copy waits: the owner stands in for it until the next frame goes.
  EXPECT_FALSE(NodeRead(kQuietMs).has_value());
  channel_->Flush();
  auto to_node = AsTaskDone(NodeRead());
  ASSERT_TRUE(to_node.has_value());
  EXPECT_EQ(to_node->task_id, id);
}

TEST_F(TaskExecutorTest, DirectTaskWithALargeResultReportsToTheNodeAtOnce) {
  ConnectOwner();
  TaskID id = TaskID::FromRandom();
  ASSERT_TRUE(owner_->SendOnLink(link_, ExecuteTaskEnvelope(task_, id, 1, Execute{})).ok());
  TaskToRun run;
  bool interrupted = false;
  ASSERT_TRUE(executor_->NextTask(&run, &interrupted).ok());
  ASSERT_EQ(MessageType(NodeRead()), wire::Message::TaskStarted);

  std::string large(kInlineThreshold + 1, 'x');
  ASSERT_TRUE(executor_->TaskDone(id, {Value(large)}, false).ok());
  auto to_owner = AsTaskDone(OwnerRead());
  ASSERT_TRUE(to_owner.has_value());
  ASSERT_EQ(to_owner->values.size(), 1u);
  EXPECT_TRUE(to_owner->values[0].first) << "a large result goes through shared memory";
  // The owner reads that one from the node, so the node hears of it now, not with a batch.
  auto to_node = AsTaskDone(NodeRead());
  ASSERT_TRUE(to_node.has_value());
  EXPECT_EQ(to_node->task_id, id);
}

TEST_F(TaskExecutorTest, ArgumentThatCannotBeReadIsAnErrorNotACrash) {
  TaskID id = TaskID::FromRandom();
  Execute e;
  e.shm_args = {ObjectID::ForPut(TaskID::FromRandom(), 0)};  // No such file.
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, id, 1, e)).ok());
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  EXPECT_FALSE(got.ok());
}

TEST_F(TaskExecutorTest, ActorCreationStopsDirectLinks) {
  TaskID id = TaskID::FromRandom();
  Execute e;
  e.actor_creation = true;
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, id, 0, e)).ok());
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_TRUE(run.actor_creation);
  // The actor's calls come from the node only: an owner can no longer open a link.
  auto owner = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
  ASSERT_TRUE(owner.ok());
  EXPECT_FALSE((*owner)
                   ->OpenLink(DirectSocketPath(node_.socket_path(), worker_id_), wire::Role::Driver,
                              WorkerID())
                   .ok());
}

std::string CancelTaskEnvelope(const TaskID& id) {
  flatbuffers::FlatBufferBuilder b(64);
  ObjectID first = ObjectID::ForReturn(id, 0);
  return std::string(
      FinishEnvelope(b, wire::CreateCancelTask(b, b.CreateVector(first.data(), ObjectID::kSize))));
}

// A CancelTask in the socket before the worker asks (the node signals only once it is written) is
// read by Cancelled(), with no waiting and no race.
TEST_F(TaskExecutorTest, CancelledReadsWhatArrivedBeforeItWasAsked) {
  TaskID cancelled = TaskID::FromRandom();
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, CancelTaskEnvelope(cancelled)).ok());
  EXPECT_TRUE(executor_->Cancelled(cancelled));
  auto start = Clock::now();
  EXPECT_FALSE(executor_->Cancelled(TaskID::FromRandom()));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(kQuietMs));
}

// An actor's worker busy with one call: the cancel of the next, queued behind it, came meanwhile
// and is read before that call is handed out, which then comes marked cancelled.
TEST_F(TaskExecutorTest, QueuedCallCancelledWhileTheWorkerWasBusyComesMarked) {
  TaskID first = TaskID::FromRandom();
  TaskID second = TaskID::FromRandom();
  Execute e;
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, first, 1, e)).ok());
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, second, 1, e)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Both in the socket.
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_EQ(run.task_id, first);
  EXPECT_FALSE(run.cancelled);
  // The first call runs; the node cancels the second.
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, CancelTaskEnvelope(second)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_EQ(run.task_id, second);
  EXPECT_TRUE(run.cancelled);
  EXPECT_FALSE(run.cancel_notice);
}

// With notices on (an actor serving calls concurrently), each cancel also comes out of NextTask.
TEST_F(TaskExecutorTest, CancelNoticesComeOutOfNextTaskInOrder) {
  executor_->EnableCancelNotices();
  TaskID call = TaskID::FromRandom();
  Execute e;
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, ExecuteTaskEnvelope(task_, call, 1, e)).ok());
  ASSERT_TRUE(FakeNode::SendFrame(node_client_, CancelTaskEnvelope(call)).ok());
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_EQ(run.task_id, call);
  EXPECT_FALSE(run.cancel_notice);
  got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_TRUE(run.cancel_notice);
  EXPECT_EQ(run.task_id, call);
  EXPECT_TRUE(executor_->Cancelled(call));
}

// A CancelTask that came with Welcome (a task sent to a worker the moment it registered, and
// cancelled at once) waits for the executor, which is built after the connection, and is not
// dropped for want of a taker: the task's first check finds it.
TEST(TaskExecutorStartTest, CancelThatCameWithWelcomeIsKept) {
  FakeNode node;
  TaskID id = TaskID::FromRandom();
  node.SetAfterWelcome(CancelTaskEnvelope(id));
  ASSERT_TRUE(node.Start().ok());
  auto conn =
      NodeConnection::Connect(node.socket_path(), wire::Role::Worker, WorkerID::FromRandom());
  ASSERT_TRUE(conn.ok()) << conn.status();
  NodeChannel channel(std::move(*conn));
  ValueIo io(channel.welcome().session_dir, &channel.connection());
  ReferenceCounter refs(&channel);
  TaskContext context(TaskID(), channel.welcome().job_id);
  DirectSubmitter direct(&channel, &refs);
  TaskExecutor executor(&channel, &context, &io, &direct);
  EXPECT_TRUE(executor.Cancelled(id, 0));
  channel.Stop();
}

TEST_F(TaskExecutorTest, ClosedConnectionEndsNextTask) {
  FakeNode::Disconnect(node_client_);
  TaskToRun run;
  bool interrupted = false;
  auto got = executor_->NextTask(&run, &interrupted);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
}

}  // namespace
}  // namespace rayx
