#include "engine/client/direct_submitter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/fake_node.h"
#include "engine/client/node_connection.h"
#include "engine/client/task_context.h"
#include "engine/client/task_submitter.h"
#include "engine/client/value_io.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWaitMs = 5000;
constexpr int kQuietMs = 100;  // How long the node must hear nothing when nothing is to be sent.

ByteSpan Span(const std::string& s) {
  return ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Whether a WaitForResults came back with all its results there.
bool Finished(const StatusOr<bool>& finished) { return finished.ok() && *finished; }

const wire::Envelope* EnvelopeOf(const std::string& frame) { return *ParseEnvelope(frame); }

std::string Marker() {
  flatbuffers::FlatBufferBuilder b(64);
  return std::string(FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString("marker"))));
}

// The task of a SubmitTask frame and the worker it names as sent to directly (nil: none).
struct Submitted {
  TaskID task_id;
  WorkerID direct_worker;
};
std::optional<Submitted> AsSubmitTask(const std::optional<std::string>& frame) {
  if (MessageType(frame) != wire::Message::SubmitTask) return std::nullopt;
  const wire::TaskSpec* spec = EnvelopeOf(*frame)->message_as_SubmitTask()->spec();
  Submitted s;
  s.task_id = UnpackId<TaskID>(spec->task_id()).value();
  if (spec->direct_worker() != nullptr) {
    s.direct_worker = UnpackId<WorkerID>(spec->direct_worker()).value();
  }
  return s;
}

// The worker id of a ReturnLease frame; nullopt for any other frame.
std::optional<WorkerID> AsReturnLease(const std::optional<std::string>& frame) {
  if (MessageType(frame) != wire::Message::ReturnLease) return std::nullopt;
  return UnpackId<WorkerID>(EnvelopeOf(*frame)->message_as_ReturnLease()->worker_id()).value();
}

std::string TaskDoneEnvelope(const TaskID& task_id, const std::string& result) {
  flatbuffers::FlatBufferBuilder b(128 + result.size());
  auto value = ValueIo::BuildInline(b, ObjectID::ForReturn(task_id, 0), ValueKind::kValue, result);
  auto id = b.CreateVector(task_id.data(), TaskID::kSize);
  return std::string(FinishEnvelope(b, wire::CreateTaskDone(b, id, b.CreateVector(&value, 1))));
}

// The owner's client runtime without Python, against a fake node, and a fake worker that the node
// can lease to it. The channel's flusher runs only in the tests that start it: without it, what
// waits goes only with the next frame, and nothing but the test reads the owner's connection.
class DirectSubmitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(conn.ok()) << conn.status();
    auto give_up_at = Clock::now() + std::chrono::seconds(10);
    (*conn)->SetInterruptCheck([give_up_at] { return Clock::now() >= give_up_at; });
    channel_ = std::make_unique<NodeChannel>(std::move(*conn));
    refs_ = std::make_unique<ReferenceCounter>(channel_.get());
    JobID job = channel_->welcome().job_id;
    context_ = std::make_unique<TaskContext>(TaskID::ForDriver(job), job);
    context_->SetCurrentTask(TaskID());
    direct_ = std::make_unique<DirectSubmitter>(channel_.get(), refs_.get());
    submitter_ =
        std::make_unique<TaskSubmitter>(channel_.get(), refs_.get(), context_.get(), direct_.get());
    node_client_ = node_.WaitForClient(0);
    ASSERT_NE(node_client_, nullptr);
    ASSERT_TRUE(worker_.Listen(DirectSocketPath(node_.socket_path(), worker_id_)).ok());

    task_.function_id = "f";
    task_.name = "t";
    task_.args = Span(args_);
    task_.resources = {{"CPU", 1.0}};
    ASSERT_TRUE(submitter_->ExportFunction("f", Span(blob_)).ok());
    ASSERT_EQ(MessageType(NodeRead()), wire::Message::ExportFunction);
  }
  void TearDown() override {
    if (channel_ != nullptr) channel_->Stop();  // The flusher calls into the parts.
  }

  std::optional<std::string> NodeRead(int timeout_ms = kWaitMs) {
    return FakeNode::ReadFrame(node_client_, timeout_ms);
  }
  bool NodeQuiet() { return !NodeRead(kQuietMs).has_value(); }

  // Submits task_ and returns its return id.
  ObjectID Submit() {
    auto returns = submitter_->SubmitTask(task_);
    EXPECT_TRUE(returns.ok()) << returns.status();
    EXPECT_EQ(returns.ok() ? returns->size() : 0, 1u);
    return returns.ok() && !returns->empty() ? returns->front() : ObjectID();
  }

  // The first task of the shape: it goes the node's path, then the lease is asked for. Returns
  // the lease key.
  uint64_t SubmitFirst() {
    ObjectID id = Submit();
    auto submitted = AsSubmitTask(NodeRead());
    EXPECT_TRUE(submitted.has_value());
    if (!submitted) return 0;
    EXPECT_EQ(submitted->task_id, id.Task());
    EXPECT_TRUE(submitted->direct_worker.IsNil());
    std::optional<std::string> request = NodeRead();
    EXPECT_EQ(MessageType(request), wire::Message::RequestLease);
    if (MessageType(request) != wire::Message::RequestLease) return 0;
    return EnvelopeOf(*request)->message_as_RequestLease()->lease_key();
  }

  void SendGrant(uint64_t key, bool refuse = false) {
    flatbuffers::FlatBufferBuilder b(128);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> worker;
    if (!refuse) worker = b.CreateVector(worker_id_.data(), WorkerID::kSize);
    auto path = b.CreateString(DirectSocketPath(node_.socket_path(), worker_id_));
    ASSERT_TRUE(FakeNode::SendFrame(
                    node_client_, FinishEnvelope(b, wire::CreateLeaseGranted(b, key, worker, path)))
                    .ok());
  }

  // Grants the lease and returns the owner's link as the worker sees it. The owner reads the grant
  // here (the flusher does when it runs): it has opened the link when this returns.
  FakeNode::Client* Grant(uint64_t key) {
    SendGrant(key);
    channel_->connection().Poll();
    FakeNode::Client* link = worker_.Accept(kWaitMs);
    EXPECT_NE(link, nullptr);
    return link;
  }

  void SendRevoke() {
    flatbuffers::FlatBufferBuilder b(64);
    auto id = b.CreateVector(worker_id_.data(), WorkerID::kSize);
    ASSERT_TRUE(
        FakeNode::SendFrame(node_client_, FinishEnvelope(b, wire::CreateRevokeLease(b, id))).ok());
  }

  // Submits a task that must go on the link; returns its return id once the worker has it.
  ObjectID SubmitDirect(FakeNode::Client* link, bool expect_blob) {
    uint64_t before = direct_->direct_task_count();
    ObjectID id = Submit();
    EXPECT_EQ(direct_->direct_task_count(), before + 1) << "the task did not go directly";
    std::optional<std::string> frame = FakeNode::ReadFrame(link, kWaitMs);
    EXPECT_EQ(MessageType(frame), wire::Message::ExecuteTask);
    if (MessageType(frame) != wire::Message::ExecuteTask) return id;
    const wire::ExecuteTask* execute = EnvelopeOf(*frame)->message_as_ExecuteTask();
    EXPECT_EQ(UnpackId<TaskID>(execute->spec()->task_id()).value(), id.Task());
    EXPECT_EQ(execute->spec()->direct_worker(), nullptr);
    EXPECT_EQ(BytesOf(execute->function_blob()), expect_blob ? blob_ : "");
    return id;
  }

  void ExpectAnnouncement(const ObjectID& id) {
    auto announced = AsSubmitTask(NodeRead());
    ASSERT_TRUE(announced.has_value()) << "no announcement";
    EXPECT_EQ(announced->task_id, id.Task());
    EXPECT_EQ(announced->direct_worker, worker_id_);
  }
  void ExpectReturnLease() {
    auto returned = AsReturnLease(NodeRead());
    ASSERT_TRUE(returned.has_value()) << "no ReturnLease";
    EXPECT_EQ(*returned, worker_id_);
  }
  void ExpectMarker() { EXPECT_EQ(MessageType(NodeRead()), wire::Message::TaskStarted); }

  FakeNode node_;
  FakeWorker worker_;
  WorkerID worker_id_ = WorkerID::FromRandom();
  std::unique_ptr<NodeChannel> channel_;
  std::unique_ptr<ReferenceCounter> refs_;
  std::unique_ptr<TaskContext> context_;
  std::unique_ptr<DirectSubmitter> direct_;
  std::unique_ptr<TaskSubmitter> submitter_;
  FakeNode::Client* node_client_ = nullptr;
  std::string args_ = "arguments";
  std::string blob_ = "the function";
  TaskSubmission task_;
};

TEST_F(DirectSubmitterTest, TaskGoesOnTheLinkOnceLeasedAndIsAnnouncedWithTheNextFrame) {
  uint64_t key = SubmitFirst();
  FakeNode::Client* link = Grant(key);
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, /*expect_blob=*/true);
  // The announcement waits for the next frame to the node.
  EXPECT_TRUE(NodeQuiet());
  ASSERT_TRUE(channel_->Send(Marker()).ok());
  ExpectAnnouncement(id);
  ExpectMarker();

  // The result comes on the link and is kept here: the node is not asked.
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(id.Task(), "result")).ok());
  auto finished = direct_->WaitForResults({id}, kWaitMs);
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_TRUE(*finished);
  auto local = direct_->LocalValues({id});
  ASSERT_TRUE(local.has_value());
  ASSERT_EQ(local->size(), 1u);
  EXPECT_EQ(local->at(0).kind, ValueKind::kValue);
  EXPECT_EQ(local->at(0).inline_data, "result");
  std::vector<bool> ready(1);
  EXPECT_EQ(direct_->MarkLocal({id}, &ready), 1u);
  EXPECT_TRUE(ready[0]);
  EXPECT_TRUE(NodeQuiet());

  // The next task of the shape goes on the same link, without the function this time.
  ObjectID second = SubmitDirect(link, /*expect_blob=*/false);
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(second.Task(), "2")).ok());
  ASSERT_TRUE(Finished(direct_->WaitForResults({second}, kWaitMs)));
  EXPECT_EQ(direct_->LocalValues({second}).value().at(0).inline_data, "2");
  // Dropping the result forgets the kept value.
  refs_->AddRef(id);
  refs_->RemoveRef(id);
  EXPECT_FALSE(direct_->LocalValues({id}).has_value());
}

TEST_F(DirectSubmitterTest, TaskWhileTheLeasedWorkerIsBusyTakesTheNodesPath) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID busy = SubmitDirect(link, true);
  ObjectID other = Submit();
  EXPECT_EQ(direct_->direct_task_count(), 1u);
  ExpectAnnouncement(busy);  // In front of the node's SubmitTask.
  auto submitted = AsSubmitTask(NodeRead());
  ASSERT_TRUE(submitted.has_value());
  EXPECT_EQ(submitted->task_id, other.Task());
  EXPECT_TRUE(submitted->direct_worker.IsNil());
  EXPECT_TRUE(NodeQuiet());  // No second lease for the shape.
}

TEST_F(DirectSubmitterTest, RevokedLeaseGoesBackAfterTheResultAndTheAnnouncement) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, true);
  SendRevoke();
  channel_->connection().Poll();  // The owner reads the revoke: a task is in flight, it waits.
  EXPECT_TRUE(NodeQuiet());

  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(id.Task(), "result")).ok());
  ASSERT_TRUE(Finished(direct_->WaitForResults({id}, kWaitMs)));
  // The node must hear of the task before it has the worker back.
  ExpectAnnouncement(id);
  ExpectReturnLease();
  EXPECT_FALSE(FakeNode::ReadFrame(link, kWaitMs).has_value()) << "the link stayed open";
  EXPECT_EQ(direct_->LocalValues({id}).value().at(0).inline_data, "result");

  // The next task takes the node's path and asks for a lease again.
  SubmitFirst();
}

// The race the two in-flight counts of a direct task close: its result comes, and the lease is
// revoked, before its announcement waits in the channel. The lease must not go back before the
// announcement, or the node would hear of a task on a worker it has given to someone else. The
// window is held open by a full link: the worker reads none of the tasks (it knows their ids, which
// are deterministic), so that the owner's send of a task blocks after the task counted as in
// flight.
TEST_F(DirectSubmitterTest, LeaseRevokedBeforeTheAnnouncementWaitsGoesBackAfterIt) {
  uint64_t submitted = 1;  // Tasks the driver submitted: the next one's id derives from the count.
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  std::string big_args(kInlineThreshold, 'a');
  task_.args = Span(big_args);
  TaskID driver = TaskID::ForDriver(channel_->welcome().job_id);
  std::future<ObjectID> blocked;
  // A failure must not leave the submission blocked on a socket nobody reads: its future would
  // wait for ever. Cutting both off ends it.
  struct CutOffOnFailure {
    ~CutOffOnFailure() {
      if (!::testing::Test::HasFailure()) return;
      FakeNode::Disconnect(node);
      FakeNode::Disconnect(link);
    }
    FakeNode::Client* node;
    FakeNode::Client* link;
  } cut_off{node_client_, link};
  TaskID blocked_task;
  for (int i = 0; i < 20 && !blocked.valid(); ++i) {
    uint64_t before = direct_->direct_task_count();
    TaskID task_id = TaskID::ForChild(driver.Job(), driver, submitted++);
    auto submit = std::async(std::launch::async, [this] { return Submit(); });
    if (submit.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout) {
      blocked = std::move(submit);
      blocked_task = task_id;
      break;
    }
    ObjectID id = submit.get();
    ASSERT_EQ(id.Task(), task_id);
    ASSERT_EQ(direct_->direct_task_count(), before + 1);
    ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(task_id, "r")).ok());
    ASSERT_TRUE(Finished(direct_->WaitForResults({id}, kWaitMs)));
  }
  ASSERT_TRUE(blocked.valid()) << "the link never filled up";
  // The blocked task counts as in flight. Its result comes and the lease is revoked.
  ObjectID blocked_id = ObjectID::ForReturn(blocked_task, 0);
  SendRevoke();
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(blocked_task, "r")).ok());
  auto reader = std::async(
      std::launch::async, [&] { return Finished(direct_->WaitForResults({blocked_id}, kWaitMs)); });
  ASSERT_TRUE(reader.get());
  // Announcements of the earlier tasks still wait, and nothing may go to the node yet.
  EXPECT_TRUE(NodeQuiet()) << "something went to the node before the announcement waited";
  // The worker reads its link: the send completes and the announcement waits.
  bool seen_blocked = false;
  while (!seen_blocked) {
    std::optional<std::string> frame = FakeNode::ReadFrame(link, kWaitMs);
    ASSERT_EQ(MessageType(frame), wire::Message::ExecuteTask);
    seen_blocked =
        UnpackId<TaskID>(EnvelopeOf(*frame)->message_as_ExecuteTask()->spec()->task_id()).value() ==
        blocked_task;
  }
  // Every announcement, the blocked task's last, then the lease (read before the submission is
  // joined: they may be more than the node's socket holds).
  bool announced = false;
  while (true) {
    std::optional<std::string> frame = NodeRead();
    if (auto submitted_task = AsSubmitTask(frame)) {
      EXPECT_EQ(submitted_task->direct_worker, worker_id_);
      announced |= submitted_task->task_id == blocked_task;
      continue;
    }
    ASSERT_TRUE(AsReturnLease(frame).has_value()) << "expected ReturnLease";
    break;
  }
  EXPECT_TRUE(announced) << "the lease went back before the announcement";
  EXPECT_EQ(blocked.get(), blocked_id);
}

TEST_F(DirectSubmitterTest, RevokedIdleLeaseGoesBackAtOnce) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  SendRevoke();
  channel_->connection().Poll();
  ExpectReturnLease();
  EXPECT_FALSE(FakeNode::ReadFrame(link, kWaitMs).has_value());
}

TEST_F(DirectSubmitterTest, LinkThatClosesWithATaskInFlightReturnsTheLease) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, true);
  FakeNode::Disconnect(link);  // The worker died.
  auto start = Clock::now();
  auto finished = direct_->WaitForResults({id}, kWaitMs);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_TRUE(*finished);
  EXPECT_FALSE(direct_->LocalValues({id}).has_value());  // Its result comes from the node now.
  ExpectAnnouncement(id);
  ExpectReturnLease();
  SubmitFirst();  // Leased again.
}

TEST_F(DirectSubmitterTest, WaitForResultsTimesOut) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, true);
  auto start = Clock::now();
  auto finished = direct_->WaitForResults({id}, 50);
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_FALSE(*finished);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(50));
  // Ids of no direct task are never waited for.
  EXPECT_TRUE(Finished(direct_->WaitForResults({ObjectID::FromRandom()}, -1)));
}

// With the flusher running: it sends the announcement, reads the result off the link, and gives
// the lease back once it went unused for kLeaseIdle.
TEST_F(DirectSubmitterTest, FlusherAnnouncesReadsTheResultAndReturnsTheIdleLease) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, true);
  channel_->Start();  // Only now: an unused lease would go back before the task went.
  ExpectAnnouncement(id);
  auto result_sent = Clock::now();
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(id.Task(), "result")).ok());
  ExpectReturnLease();
  EXPECT_GE(Clock::now() - result_sent, DirectSubmitter::kLeaseIdle);
  EXPECT_LT(Clock::now() - result_sent, std::chrono::seconds(1));
  // The lease went back with nothing in flight: the result had been read and kept.
  auto local = direct_->LocalValues({id});
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->at(0).inline_data, "result");
  EXPECT_FALSE(FakeNode::ReadFrame(link, kWaitMs).has_value());
}

TEST_F(DirectSubmitterTest, UnusedLeaseGoesBackAfterTheIdleTime) {
  uint64_t key = SubmitFirst();
  auto granted = Clock::now();
  FakeNode::Client* link = Grant(key);
  ASSERT_NE(link, nullptr);
  channel_->Start();
  ExpectReturnLease();
  EXPECT_GE(Clock::now() - granted, DirectSubmitter::kLeaseIdle);
  EXPECT_FALSE(FakeNode::ReadFrame(link, kWaitMs).has_value());
}

TEST_F(DirectSubmitterTest, RefusedLeaseDisablesTheShape) {
  uint64_t key = SubmitFirst();
  SendGrant(key, /*refuse=*/true);
  channel_->connection().Poll();
  ObjectID id = Submit();
  auto submitted = AsSubmitTask(NodeRead());
  ASSERT_TRUE(submitted.has_value());
  EXPECT_EQ(submitted->task_id, id.Task());
  EXPECT_TRUE(submitted->direct_worker.IsNil());
  EXPECT_TRUE(NodeQuiet()) << "asked for a lease of a refused shape again";
  EXPECT_EQ(direct_->direct_task_count(), 0u);
  // Another shape still asks.
  task_.resources = {{"CPU", 2.0}};
  SubmitFirst();
}

// A get at the node that names a kept result, or one still running, makes the owner send it to
// the node (a promotion), after the task's announcement.
TEST_F(DirectSubmitterTest, NamedResultsArePromotedAfterTheAnnouncement) {
  FakeNode::Client* link = Grant(SubmitFirst());
  ASSERT_NE(link, nullptr);
  ObjectID id = SubmitDirect(link, true);
  direct_->PromoteNamed({id});  // Still running: promoted when it arrives.
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(id.Task(), "result")).ok());
  ASSERT_TRUE(Finished(direct_->WaitForResults({id}, kWaitMs)));
  ExpectAnnouncement(id);
  std::optional<std::string> put = NodeRead();
  ASSERT_EQ(MessageType(put), wire::Message::PutObject);
  const wire::PutObject* promotion = EnvelopeOf(*put)->message_as_PutObject();
  EXPECT_TRUE(promotion->promotion());
  EXPECT_EQ(UnpackId<ObjectID>(promotion->value()->object_id()).value(), id);
  EXPECT_EQ(BytesOf(promotion->value()->data()), "result");
  direct_->PromoteNamed({id});  // Once only.
  ASSERT_TRUE(channel_->Send(Marker()).ok());
  ExpectMarker();

  // A kept result named later goes with the next frame.
  ObjectID second = SubmitDirect(link, false);
  ASSERT_TRUE(FakeNode::SendFrame(link, TaskDoneEnvelope(second.Task(), "2")).ok());
  ASSERT_TRUE(Finished(direct_->WaitForResults({second}, kWaitMs)));
  direct_->PromoteNamed({second});
  ASSERT_TRUE(channel_->Send(Marker()).ok());
  ExpectAnnouncement(second);
  ASSERT_EQ(MessageType(NodeRead()), wire::Message::PutObject);
  ExpectMarker();
}

}  // namespace
}  // namespace rayx
