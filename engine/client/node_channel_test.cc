#include "engine/client/node_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "engine/client/fake_node.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWaitMs = 5000;
// What "promptly" means on a loaded machine: far above kFlushDelay, far below a hang.
constexpr auto kPromptly = std::chrono::seconds(1);

// A frame that says which it is: a TaskStarted named name.
std::string Named(const std::string& name) {
  flatbuffers::FlatBufferBuilder b(64);
  return std::string(FinishEnvelope(b, wire::CreateTaskStarted(b, b.CreateString(name))));
}

// The name in a frame made by Named, or what else it was.
std::string NameOf(const std::optional<std::string>& frame) {
  if (!frame) return "(nothing)";
  auto envelope = ParseEnvelope(*frame);
  if (!envelope.ok() || (*envelope)->message_as_TaskStarted() == nullptr) return "(other)";
  return StringOf((*envelope)->message_as_TaskStarted()->name());
}

class NodeChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(conn.ok()) << conn.status();
    channel_ = std::make_unique<NodeChannel>(std::move(*conn));
    client_ = node_.WaitForClient(0);
    ASSERT_NE(client_, nullptr);
  }

  // Whether the node has nothing to read for a while (a frame that was not to be sent yet).
  bool NothingArrives(int ms = 100) { return !FakeNode::ReadFrame(client_, ms).has_value(); }

  FakeNode node_;
  std::unique_ptr<NodeChannel> channel_;
  FakeNode::Client* client_ = nullptr;
};

// Without the flusher nothing sends a deferred frame but the next send: it must go first, and in
// the same write (a weak check: the node's first read holds both).
TEST_F(NodeChannelTest, DeferredFrameGoesInFrontOfTheNextSend) {
  channel_->Defer(Named("deferred"));
  EXPECT_TRUE(NothingArrives());
  ASSERT_TRUE(channel_->Send(Named("sent")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  EXPECT_EQ(client_->frames.size(), 1u) << "the send came in a write of its own";
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "sent");
  // Sent once only.
  ASSERT_TRUE(channel_->Send(Named("next")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "next");
}

TEST_F(NodeChannelTest, DeferredFrameGoesWithinTheFlushDelayWhenNothingIsSent) {
  channel_->Start();
  auto start = Clock::now();
  channel_->Defer(Named("deferred"));
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  auto waited = Clock::now() - start;
  EXPECT_LT(waited, kPromptly);
  // It had its chance to travel with another frame first.
  EXPECT_GE(waited, kFlushDelay - std::chrono::milliseconds(1));
  // And the flusher sleeps again: a later deferral goes as promptly.
  channel_->Defer(Named("again"));
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "again");
}

// A lone submission (SendSoon) goes at once; the second of a burst waits for others to travel
// with it, but not long: the flusher sends it within kSoonDelay, far sooner than a deferred
// frame's kFlushDelay. (A loaded machine may space the two past kBurstGap: both then go at once.)
TEST_F(NodeChannelTest, SoonFramesOfABurstGoWithinTheirDelayWhenNothingIsSent) {
  channel_->Start();
  for (int i = 0; i < 3; ++i) {  // The flusher sleeps between them, and wakes for each burst.
    ASSERT_TRUE(channel_->SendSoon(Named("lone")).ok());
    EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "lone");
    std::this_thread::sleep_for(2 * kBurstGap);
    auto start = Clock::now();
    ASSERT_TRUE(channel_->SendSoon(Named("first")).ok());
    ASSERT_TRUE(channel_->SendSoon(Named("second")).ok());
    EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "first");
    EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "second");
    EXPECT_LT(Clock::now() - start, kPromptly);
    EXPECT_TRUE(NothingArrives(20)) << "sent twice";
  }
}

// A worker's held result waits for its next wait (FlushSoon), or for kSoonDelay once armed.
TEST_F(NodeChannelTest, HeldFrameGoesAtTheNextWaitOrOnceArmed) {
  channel_->Start();
  channel_->HoldUntilWait(Named("held"));
  EXPECT_TRUE(NothingArrives(20)) << "a held frame woke the flusher";
  channel_->FlushSoon();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "held");
  channel_->HoldUntilWait(Named("armed"));
  auto start = Clock::now();
  channel_->ArmHeld();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "armed");
  EXPECT_LT(Clock::now() - start, kPromptly);
}

// A result held briefly (an async actor's, kAfterFlush) goes together with the ones after it at
// the caller's FlushSoon, in one write; should the caller not come back, the flusher sends it
// within kFlushDelay (it had that long to travel with others).
TEST_F(NodeChannelTest, BrieflyHeldFramesGoTogetherAtFlushSoonOrWithinTheFlushDelay) {
  channel_->Start();
  channel_->HoldBriefly(Named("first"), /*soon=*/false);
  channel_->HoldBriefly(Named("second"), /*soon=*/false);
  channel_->FlushSoon();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "first");
  EXPECT_EQ(client_->frames.size(), 1u) << "the two came in writes of their own";
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "second");
  EXPECT_TRUE(NothingArrives(20)) << "sent twice";

  auto start = Clock::now();
  channel_->HoldBriefly(Named("forgotten"), /*soon=*/false);
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "forgotten");
  auto waited = Clock::now() - start;
  EXPECT_LT(waited, kPromptly);
  EXPECT_GE(waited, kFlushDelay - std::chrono::milliseconds(1));
}

// A threaded actor's result held briefly (kSoon) waits kSoonDelay at most, far less than
// kFlushDelay, and goes in front of the next send.
TEST_F(NodeChannelTest, SoonHeldFrameGoesWithinTheSoonDelayOrWithTheNextSend) {
  channel_->Start();
  for (int i = 0; i < 3; ++i) {  // The flusher sleeps between them and wakes for each.
    auto start = Clock::now();
    channel_->HoldBriefly(Named("soon"), /*soon=*/true);
    EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "soon");
    EXPECT_LT(Clock::now() - start, kPromptly);
  }
  channel_->HoldBriefly(Named("held"), /*soon=*/true);
  ASSERT_TRUE(channel_->Send(Named("sent")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "held");
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "sent");
  EXPECT_TRUE(NothingArrives(20)) << "sent twice";
}

// Without a flusher nothing would send a briefly held frame later: it goes at once.
TEST_F(NodeChannelTest, BrieflyHeldFrameGoesAtOnceWithoutAFlusher) {
  channel_->HoldBriefly(Named("before"), /*soon=*/false);
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "before");
  channel_->Start();
  channel_->Stop();
  channel_->HoldBriefly(Named("after"), /*soon=*/true);
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "after");
}

// A burst keeps its order, goes in front of the next send, and never waits past kSoonBytes: the
// frame that fills the batch sends it.
TEST_F(NodeChannelTest, SoonFramesKeepTheirOrderAndGoInFrontOfTheNextSend) {
  channel_->Start();
  std::string pad(1000, 'x');
  int count = static_cast<int>(3 * kSoonBytes / pad.size());
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(channel_->SendSoon(Named(std::to_string(i) + pad)).ok());
  }
  ASSERT_TRUE(channel_->Send(Named("sent")).ok());
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), std::to_string(i) + pad) << i;
  }
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "sent");
}

// Without a flusher (before Start, after Stop) nothing would send it later: it goes at once.
TEST_F(NodeChannelTest, SoonFrameGoesAtOnceWithoutAFlusher) {
  ASSERT_TRUE(channel_->SendSoon(Named("before")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "before");
  channel_->Start();
  channel_->Stop();
  ASSERT_TRUE(channel_->SendSoon(Named("after")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "after");
}

// FlushSoon sends what waits only when a submission is among it.
TEST_F(NodeChannelTest, FlushSoonLeavesDeferredFramesAloneAndSendsSubmissions) {
  channel_->Defer(Named("deferred"));
  channel_->FlushSoon();
  EXPECT_TRUE(NothingArrives());
  channel_->Start();
  ASSERT_TRUE(channel_->SendSoon(Named("soon")).ok());
  channel_->FlushSoon();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "soon");
}

TEST_F(NodeChannelTest, PendingSourceGoesAfterDeferredFramesAndBeforeTheEnvelope) {
  std::atomic<int> batches{0};
  channel_->SetPendingSource(
      [&](std::string* frames) {
        if (batches == 0) return;
        --batches;
        AppendFrame(frames, Named("batch"));
      },
      [&] { return batches == 0; });
  channel_->Defer(Named("deferred 1"));
  channel_->Defer(Named("deferred 2"));
  batches = 1;
  ASSERT_TRUE(channel_->Send(Named("sent")).ok());
  for (const char* name : {"deferred 1", "deferred 2", "batch", "sent"}) {
    EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), name);
  }
  // The source alone also goes in front of a send.
  batches = 1;
  ASSERT_TRUE(channel_->Send(Named("sent 2")).ok());
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "batch");
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "sent 2");
  channel_->Stop();  // Before the pending source's captures go.
}

TEST_F(NodeChannelTest, PendingSourceIsFlushedByTheFlusherAfterAWake) {
  std::atomic<int> batches{0};
  channel_->SetPendingSource(
      [&](std::string* frames) {
        if (batches == 0) return;
        --batches;
        AppendFrame(frames, Named("batch"));
      },
      [&] { return batches == 0; });
  channel_->Start();
  batches = 1;
  channel_->Wake();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "batch");
  channel_->Stop();  // Before the pending source's captures go.
}

TEST_F(NodeChannelTest, CallSendsWhatWaitsFirst) {
  channel_->Defer(Named("deferred"));
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  std::string request(FinishEnvelope(b, wire::CreateInfoRequest(b, request_id)));
  StatusOr<std::string> reply = Unavailable("not yet");
  std::thread caller([&] { reply = channel_->Call(request_id, request); });
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  std::optional<std::string> asked = FakeNode::ReadFrame(client_, kWaitMs);
  ASSERT_EQ(MessageType(asked), wire::Message::InfoRequest);
  flatbuffers::FlatBufferBuilder rb(64);
  ASSERT_TRUE(
      FakeNode::SendFrame(client_, FinishEnvelope(rb, wire::CreateInfoReply(rb, request_id))).ok());
  caller.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(MessageType(*reply), wire::Message::InfoReply);
}

TEST_F(NodeChannelTest, StopSendsWhatWaits) {
  channel_->Defer(Named("deferred"));  // The flusher never ran: only Stop can send it.
  channel_->Stop();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  channel_->Stop();  // Idempotent.
  EXPECT_TRUE(NothingArrives());
}

TEST_F(NodeChannelTest, StopWithARunningFlusherSendsWhatWaits) {
  channel_->Start();
  channel_->Defer(Named("deferred"));
  channel_->Stop();
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  EXPECT_TRUE(NothingArrives());
}

// Waits until runs reaches at least target; false after kPromptly.
bool WaitForRuns(const std::atomic<int>& runs, int target) {
  auto deadline = Clock::now() + kPromptly;
  while (runs < target) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_F(NodeChannelTest, UpkeepRunsWhileItHasWorkAndAgainAfterAWake) {
  std::atomic<int> runs{0};
  std::atomic<int> active_until{3};  // The upkeep says it has work until its n-th run.
  channel_->AddUpkeep([&] { return ++runs < active_until; });
  channel_->Start();
  // Nothing asked the flusher to run yet: it sleeps.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(runs, 0);

  channel_->Wake();
  ASSERT_TRUE(WaitForRuns(runs, 3));
  // The third run said there is nothing left: the flusher sleeps (20 flush delays and more).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(runs, 3);

  active_until = 5;
  channel_->Wake();
  ASSERT_TRUE(WaitForRuns(runs, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(runs, 5);
  channel_->Stop();
}

// A deferral also wakes the flusher, and the upkeeps run with it.
TEST_F(NodeChannelTest, DeferWakesTheUpkeeps) {
  std::atomic<int> runs{0};
  channel_->AddUpkeep([&] {
    ++runs;
    return false;
  });
  channel_->Start();
  channel_->Defer(Named("deferred"));
  EXPECT_EQ(NameOf(FakeNode::ReadFrame(client_, kWaitMs)), "deferred");
  EXPECT_TRUE(WaitForRuns(runs, 1));
  channel_->Stop();
}

}  // namespace
}  // namespace rayx
