// A gtest fixture for ObjectClient tests: a client runtime's object side (channel, reference
// counter, task context, value I/O, direct submitter, object client) attached as a driver to a
// FakeNode, whose side of the connection the test reads and answers (client_).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <utility>

#include "engine/client/direct_submitter.h"
#include "engine/client/fake_node.h"
#include "engine/client/node_channel.h"
#include "engine/client/node_connection.h"
#include "engine/client/object_client.h"
#include "engine/client/reference_counter.h"
#include "engine/client/task_context.h"
#include "engine/client/value_io.h"
#include "engine/wire/messages.h"

namespace rayx {

class ObjectClientFixture : public ::testing::Test {
 protected:
  static constexpr int kWaitMs = 5000;

  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(conn.ok()) << conn.status();
    // A test that waits for an answer that never comes fails instead of hanging.
    auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    (*conn)->SetInterruptCheck(
        [give_up_at] { return std::chrono::steady_clock::now() >= give_up_at; });
    channel_ = std::make_unique<NodeChannel>(std::move(*conn));
    refs_ = std::make_unique<ReferenceCounter>(channel_.get());
    JobID job = channel_->welcome().job_id;
    context_ = std::make_unique<TaskContext>(TaskID::ForDriver(job), job);
    io_ = std::make_unique<ValueIo>(node_.dir(), &channel_->connection());
    direct_ = std::make_unique<DirectSubmitter>(channel_.get(), refs_.get());
    objects_ = std::make_unique<ObjectClient>(channel_.get(), refs_.get(), context_.get(),
                                              io_.get(), direct_.get());
    client_ = node_.WaitForClient(0);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    if (channel_ != nullptr) channel_->Stop();
  }

  FakeNode node_;
  std::unique_ptr<NodeChannel> channel_;
  std::unique_ptr<ReferenceCounter> refs_;
  std::unique_ptr<TaskContext> context_;
  std::unique_ptr<ValueIo> io_;
  std::unique_ptr<DirectSubmitter> direct_;
  std::unique_ptr<ObjectClient> objects_;
  FakeNode::Client* client_ = nullptr;
};

}  // namespace rayx
