#include "engine/client/client_runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include "engine/client/fake_node.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

using Clock = std::chrono::steady_clock;

struct GetResult {
  Status status;
  bool timed_out = false;
};

class ClientRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto runtime = ClientRuntime::Connect(node_.socket_path(), ClientRole::kDriver, WorkerID());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = std::shared_ptr<ClientRuntime>(std::move(*runtime));
    // No wait of a failing test hangs.
    auto give_up_at = Clock::now() + std::chrono::seconds(10);
    runtime_->SetInterruptCheck([give_up_at] { return Clock::now() >= give_up_at; });
    client_ = node_.WaitForClient(0);
    ASSERT_NE(client_, nullptr);
  }

  // A Get of one id in another thread, which holds the runtime while it waits.
  std::future<GetResult> StartGet() {
    std::shared_ptr<ClientRuntime> runtime = runtime_;
    return std::async(std::launch::async, [runtime] {
      GetResult result;
      result.status = runtime->Get({ObjectID::FromRandom()}, -1, &result.timed_out).status();
      return result;
    });
  }

  FakeNode node_;
  std::shared_ptr<ClientRuntime> runtime_;
  FakeNode::Client* client_ = nullptr;
};

TEST_F(ClientRuntimeTest, DisconnectEndsAGetBlockedInAnotherThread) {
  std::future<GetResult> get = StartGet();
  // The get is at the node, which never answers.
  ASSERT_EQ(MessageType(FakeNode::ReadFrame(client_, 5000)), wire::Message::GetObjects);
  auto start = Clock::now();
  runtime_->Disconnect();
  EXPECT_TRUE(runtime_->disconnected());
  ASSERT_EQ(get.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  GetResult result = get.get();
  EXPECT_EQ(result.status.code(), StatusCode::kUnavailable) << result.status;
  EXPECT_FALSE(result.timed_out);
  // Later calls fail at once.
  bool timed_out = false;
  EXPECT_EQ(runtime_->Get({ObjectID::FromRandom()}, -1, &timed_out).status().code(),
            StatusCode::kUnavailable);
  runtime_.reset();  // Destroyed once both are done.
}

// The waiting thread may be the last holder: the runtime goes when its Get returns.
TEST_F(ClientRuntimeTest, RuntimeHeldOnlyByTheWaitingThreadGoesWhenItReturns) {
  std::future<GetResult> get = StartGet();
  ASSERT_EQ(MessageType(FakeNode::ReadFrame(client_, 5000)), wire::Message::GetObjects);
  std::weak_ptr<ClientRuntime> weak = runtime_;
  runtime_->Disconnect();
  runtime_.reset();
  ASSERT_EQ(get.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(get.get().status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(weak.expired());
}

TEST_F(ClientRuntimeTest, DisconnectEndsSeveralWaiters) {
  std::vector<std::future<GetResult>> gets;
  for (int i = 0; i < 3; ++i) gets.push_back(StartGet());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(MessageType(FakeNode::ReadFrame(client_, 5000)), wire::Message::GetObjects);
  }
  runtime_->Disconnect();
  for (auto& get : gets) {
    ASSERT_EQ(get.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    EXPECT_EQ(get.get().status.code(), StatusCode::kUnavailable);
  }
}

}  // namespace
}  // namespace rayx
