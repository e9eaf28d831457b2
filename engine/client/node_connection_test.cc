#include "engine/client/node_connection.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/client/fake_node.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

using Clock = std::chrono::steady_clock;

// Every wait of these tests is bounded: a connection gives up after this long.
constexpr auto kGiveUpAfter = std::chrono::seconds(10);
constexpr int64_t kWaitMs = 5000;

std::string ExecuteTaskEnvelope(const std::string& name) {
  flatbuffers::FlatBufferBuilder b(128);
  TaskID id = TaskID::FromRandom();
  auto task_id = b.CreateVector(id.data(), TaskID::kSize);
  auto task_name = b.CreateString(name);
  wire::TaskSpecBuilder spec(b);
  spec.add_task_id(task_id);
  spec.add_name(task_name);
  auto finished = spec.Finish();
  return std::string(FinishEnvelope(b, wire::CreateExecuteTask(b, finished)));
}

// The name of the task in an ExecuteTask frame, or "(not a task)".
std::string TaskName(const std::string& frame) {
  auto envelope = ParseEnvelope(frame);
  if (!envelope.ok() || (*envelope)->message_as_ExecuteTask() == nullptr) return "(not a task)";
  return StringOf((*envelope)->message_as_ExecuteTask()->spec()->name());
}

std::string TaskDoneEnvelope(const TaskID& id) {
  flatbuffers::FlatBufferBuilder b(128);
  auto task_id = b.CreateVector(id.data(), TaskID::kSize);
  return std::string(FinishEnvelope(b, wire::CreateTaskDone(b, task_id)));
}

std::string TaskStartedEnvelope(const std::string& name) {
  flatbuffers::FlatBufferBuilder b(64);
  auto task_name = b.CreateString(name);
  return std::string(FinishEnvelope(b, wire::CreateTaskStarted(b, task_name)));
}

// The name in a TaskStarted frame, or "(not TaskStarted)".
std::string StartedName(const std::optional<std::string>& frame) {
  if (!frame) return "(nothing)";
  auto envelope = ParseEnvelope(*frame);
  if (!envelope.ok() || (*envelope)->message_as_TaskStarted() == nullptr)
    return "(not TaskStarted)";
  return StringOf((*envelope)->message_as_TaskStarted()->name());
}

std::string HelloEnvelope(uint32_t version) {
  flatbuffers::FlatBufferBuilder b(128);
  WorkerID id;
  auto worker_id = b.CreateVector(id.data(), WorkerID::kSize);
  return std::string(
      FinishEnvelope(b, wire::CreateHello(b, version, wire::Role::Driver, worker_id, getpid())));
}

// What a connection's frame handler was given, for the test's thread to look at.
class Recorder {
 public:
  NodeConnection::FrameHandler Handler() {
    return [this](uint64_t link, std::string frame) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.emplace_back(link, std::move(frame));
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }
  std::pair<uint64_t, std::string> at(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.at(i);
  }
  // Whether the handler was given a frame from this link.
  bool SawFrame(uint64_t link) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, frame] : events_) {
      if (id == link && !frame.empty()) return true;
    }
    return false;
  }
  // Whether the handler was told that this link closed.
  bool SawClose(uint64_t link) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, frame] : events_) {
      if (id == link && frame.empty()) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<uint64_t, std::string>> events_;
};

class NodeConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.Start().ok()); }

  // Connects with a handler that records into recorder and an interrupt check that gives up after
  // kGiveUpAfter, so that no wait of a failing test hangs.
  std::unique_ptr<NodeConnection> Connect(wire::Role role, const WorkerID& id, Recorder* recorder) {
    auto conn = NodeConnection::Connect(node_.socket_path(), role, id);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return nullptr;
    auto give_up_at = Clock::now() + kGiveUpAfter;
    (*conn)->SetInterruptCheck([give_up_at] { return Clock::now() >= give_up_at; });
    (*conn)->SetFrameHandler(recorder->Handler());
    return std::move(*conn);
  }

  FakeNode node_;
  WorkerID worker_id_ = WorkerID::FromRandom();
  Recorder worker_events_;
  Recorder owner_events_;
};

TEST_F(NodeConnectionTest, WorkerListensBesideTheNodeSocket) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  ASSERT_NE(worker, nullptr);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  EXPECT_EQ(path, node_.dir() + "/workers/" + worker_id_.Hex() + ".sock");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_NE(node_.WaitForClient(0), nullptr);
  EXPECT_EQ(node_.WaitForClient(0)->role, wire::Role::Worker);
  EXPECT_EQ(worker->welcome().worker_id, worker_id_);
  worker.reset();
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the socket outlived its worker";
}

TEST_F(NodeConnectionTest, TasksComeFromLinksAndFromTheNode) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  auto link = owner->OpenLink(DirectSocketPath(node_.socket_path(), worker_id_), wire::Role::Driver,
                              WorkerID());
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_NE(*link, 0u);
  ASSERT_TRUE(owner->SendOnLink(*link, ExecuteTaskEnvelope("direct")).ok());

  bool interrupted = true;
  uint64_t from = 0;
  std::optional<std::string> task = worker->NextTask(&interrupted, &from);
  ASSERT_TRUE(task.has_value());
  EXPECT_FALSE(interrupted);
  EXPECT_EQ(TaskName(*task), "direct");
  EXPECT_NE(from, 0u);

  ASSERT_TRUE(FakeNode::SendFrame(node_.WaitForClient(0), ExecuteTaskEnvelope("by node")).ok());
  task = worker->NextTask(&interrupted, &from);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(TaskName(*task), "by node");
  EXPECT_EQ(from, 0u);
  EXPECT_EQ(worker_events_.size(), 0u);
}

TEST_F(NodeConnectionTest, TaskDoneOnALinkReachesTheOwnersHandler) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  // A second link first, so that the owner's id of the link in use is not the worker's by chance.
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  ASSERT_TRUE(owner->OpenLink(path, wire::Role::Driver, WorkerID()).ok());
  auto link = owner->OpenLink(path, wire::Role::Driver, WorkerID());
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(owner->SendOnLink(*link, ExecuteTaskEnvelope("f")).ok());
  uint64_t worker_link = 0;
  ASSERT_TRUE(worker->NextTask(nullptr, &worker_link).has_value());

  TaskID done_id = TaskID::FromRandom();
  ASSERT_TRUE(worker->SendOnLink(worker_link, TaskDoneEnvelope(done_id)).ok());
  bool interrupted = true;
  ASSERT_TRUE(owner->WaitUntil([&] { return owner_events_.size() > 0; }, kWaitMs, &interrupted));
  EXPECT_FALSE(interrupted);
  auto [link_id, frame] = owner_events_.at(0);
  EXPECT_EQ(link_id, *link);
  auto envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok());
  ASSERT_NE((*envelope)->message_as_TaskDone(), nullptr);
  EXPECT_EQ(UnpackId<TaskID>((*envelope)->message_as_TaskDone()->task_id()).value(), done_id);
}

// Two threads wait on one connection for frames of different links: whichever reads hands the
// reading over to the other when its own frame has come.
TEST_F(NodeConnectionTest, TwoWaitersGetFramesFromTheirLinks) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  uint64_t owner_links[2];
  uint64_t worker_links[2];
  for (int i = 0; i < 2; ++i) {
    auto link = owner->OpenLink(path, wire::Role::Driver, WorkerID());
    ASSERT_TRUE(link.ok());
    owner_links[i] = *link;
    ASSERT_TRUE(owner->SendOnLink(*link, ExecuteTaskEnvelope("f")).ok());
    ASSERT_TRUE(worker->NextTask(nullptr, &worker_links[i]).has_value());
  }
  bool got[2] = {false, false};
  std::thread waiters[2];
  for (int i = 0; i < 2; ++i) {
    waiters[i] = std::thread([&, i] {
      got[i] = owner->WaitUntil([&] { return owner_events_.SawFrame(owner_links[i]); }, kWaitMs,
                                nullptr);
    });
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(worker->SendOnLink(worker_links[i], TaskDoneEnvelope(TaskID::FromRandom())).ok());
    waiters[i].join();
    EXPECT_TRUE(got[i]) << "waiter " << i;
  }
}

// CPU time the calling thread has used.
std::chrono::nanoseconds ThreadCpuTime() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// A driver spins briefly before it sleeps, a worker never; either way a wait for an answer that
// does not come sleeps: a driver waiting 300 ms for nothing uses a small part of a CPU.
TEST_F(NodeConnectionTest, OnlyADriverSpinsAndAWaitThatLastsSleeps) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  EXPECT_EQ(worker->spin_wait().count(), 0);
  if (getenv("RAYX_SPIN_WAIT_US") == nullptr) EXPECT_EQ(owner->spin_wait().count(), 50);
  auto cpu_before = ThreadCpuTime();
  auto started = Clock::now();
  EXPECT_FALSE(owner->WaitUntil([] { return false; }, 300, nullptr));
  auto waited = Clock::now() - started;
  auto cpu = ThreadCpuTime() - cpu_before;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(cpu, std::chrono::milliseconds(60)) << "the wait should sleep after its spin";
}

TEST_F(NodeConnectionTest, LeaseMessagesFromTheNodeGoToTheHandlerAsLinkZero) {
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_NE(owner, nullptr);
  flatbuffers::FlatBufferBuilder b(64);
  auto id = b.CreateVector(worker_id_.data(), WorkerID::kSize);
  ASSERT_TRUE(
      FakeNode::SendFrame(node_.WaitForClient(0), FinishEnvelope(b, wire::CreateRevokeLease(b, id)))
          .ok());
  ASSERT_TRUE(owner->WaitUntil([&] { return owner_events_.size() > 0; }, kWaitMs, nullptr));
  auto [link, frame] = owner_events_.at(0);
  EXPECT_EQ(link, 0u);
  auto envelope = ParseEnvelope(frame);
  ASSERT_TRUE(envelope.ok());
  EXPECT_NE((*envelope)->message_as_RevokeLease(), nullptr);
}

// A raw client of the worker's socket, for first frames that OpenLink would never send.
int RawConnect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the peer closed fd (end of stream or reset) within timeout_ms, reading what it sent.
bool PeerClosed(int fd, int timeout_ms) {
  pollfd p = {fd, POLLIN, 0};
  char buffer[256];
  while (poll(&p, 1, timeout_ms) == 1) {
    if (read(fd, buffer, sizeof(buffer)) <= 0) return true;
  }
  return false;
}

// The worker takes a task from the node, as a check that its connection to the node still works.
void ExpectNodeStillServes(FakeNode* node, NodeConnection* worker) {
  ASSERT_TRUE(FakeNode::SendFrame(node->WaitForClient(0), ExecuteTaskEnvelope("still here")).ok());
  uint64_t from = 99;
  std::optional<std::string> task = worker->NextTask(nullptr, &from);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(TaskName(*task), "still here");
  EXPECT_EQ(from, 0u);
}

TEST_F(NodeConnectionTest, WorkerClosesALinkThatDoesNotStartWithHello) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  ASSERT_NE(worker, nullptr);
  std::string oversized("\xff\xff\xff\xff", 4);
  std::string garbage;
  AppendFrame(&garbage, "not a flatbuffer at all");
  std::vector<std::pair<std::string, std::string>> cases;
  for (auto [what, envelope] :
       {std::pair<std::string, std::string>{"a task", ExecuteTaskEnvelope("sneaky")},
        {"an old Hello", HelloEnvelope(kProtocolVersion - 1)},
        {"a newer Hello", HelloEnvelope(kProtocolVersion + 1)}}) {
    std::string frame;
    AppendFrame(&frame, envelope);
    cases.emplace_back(what, frame);
  }
  cases.emplace_back("a garbage frame", garbage);
  cases.emplace_back("an oversized frame", oversized);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  for (const auto& [what, bytes] : cases) {
    SCOPED_TRACE(what);
    size_t closes_before = worker_events_.size();
    int fd = RawConnect(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    bool reported =
        worker->WaitUntil([&] { return worker_events_.size() > closes_before; }, kWaitMs, nullptr);
    bool peer_closed = reported && PeerClosed(fd, 1000);
    close(fd);
    ASSERT_TRUE(reported);
    EXPECT_TRUE(peer_closed);
    auto [link, frame] = worker_events_.at(worker_events_.size() - 1);
    EXPECT_NE(link, 0u);
    EXPECT_EQ(frame, "");
    ExpectNodeStillServes(&node_, worker.get());  // Also: "sneaky" was not queued before it.
  }
}

TEST_F(NodeConnectionTest, WorkerClosesALinkOnABadFrameAfterHello) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  // Garbage, and a message that has no business on a link to a worker.
  for (const std::string& bad : {std::string("garbage"), TaskDoneEnvelope(TaskID::FromRandom())}) {
    auto link = owner->OpenLink(path, wire::Role::Driver, WorkerID());
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(owner->SendOnLink(*link, bad).ok());
    size_t closes_before = worker_events_.size();
    EXPECT_TRUE(
        worker->WaitUntil([&] { return worker_events_.size() > closes_before; }, kWaitMs, nullptr));
    EXPECT_TRUE(owner->WaitUntil([&] { return owner_events_.SawClose(*link); }, kWaitMs, nullptr));
    EXPECT_EQ(owner->SendOnLink(*link, ExecuteTaskEnvelope("late")).code(),
              StatusCode::kUnavailable);
    ExpectNodeStillServes(&node_, worker.get());
  }
  // A good link still works.
  auto link = owner->OpenLink(path, wire::Role::Driver, WorkerID());
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(owner->SendOnLink(*link, ExecuteTaskEnvelope("good")).ok());
  std::optional<std::string> task = worker->NextTask();
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(TaskName(*task), "good");
}

TEST_F(NodeConnectionTest, WorkerThatGoesAwayIsAClosedLink) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  auto served = owner->OpenLink(path, wire::Role::Driver, WorkerID());
  ASSERT_TRUE(served.ok());
  ASSERT_TRUE(owner->SendOnLink(*served, ExecuteTaskEnvelope("f")).ok());
  ASSERT_TRUE(worker->NextTask().has_value());
  // One the worker never accepted: it goes with the listening socket.
  auto pending = owner->OpenLink(path, wire::Role::Driver, WorkerID());
  ASSERT_TRUE(pending.ok());

  worker.reset();
  // Before the owner has read that the links closed, a send finds it out.
  EXPECT_EQ(owner->SendOnLink(*served, ExecuteTaskEnvelope("g")).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(owner->WaitUntil(
      [&] { return owner_events_.SawClose(*served) && owner_events_.SawClose(*pending); }, kWaitMs,
      nullptr));
  EXPECT_EQ(owner->SendOnLink(*served, ExecuteTaskEnvelope("g")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(owner->SendOnLink(*pending, ExecuteTaskEnvelope("g")).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(owner->OpenLink(path, wire::Role::Driver, WorkerID()).ok());
}

TEST_F(NodeConnectionTest, WorkerThatStopsListeningClosesItsLinksAndTakesNoMore) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_TRUE(worker && owner);
  std::string path = DirectSocketPath(node_.socket_path(), worker_id_);
  auto link = owner->OpenLink(path, wire::Role::Driver, WorkerID());
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(owner->SendOnLink(*link, ExecuteTaskEnvelope("f")).ok());
  ASSERT_TRUE(worker->NextTask().has_value());

  worker->StopListening();
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0);
  EXPECT_FALSE(owner->OpenLink(path, wire::Role::Driver, WorkerID()).ok());
  EXPECT_TRUE(owner->WaitUntil([&] { return owner_events_.SawClose(*link); }, kWaitMs, nullptr));
  // The node still reaches it, and its reader does not spin on the shut listening socket.
  ExpectNodeStillServes(&node_, worker.get());
  timespec before, after;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
  EXPECT_FALSE(worker->WaitUntil([] { return false; }, 200, nullptr));
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
  double cpu_ms = (after.tv_sec - before.tv_sec) * 1e3 + (after.tv_nsec - before.tv_nsec) / 1e6;
  EXPECT_LT(cpu_ms, 50) << "the reader spun while it waited";
}

TEST_F(NodeConnectionTest, WaitUntilTimesOutOrReturnsAtOnce) {
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_NE(owner, nullptr);
  bool interrupted = true;
  auto start = Clock::now();
  EXPECT_FALSE(owner->WaitUntil([] { return false; }, 150, &interrupted));
  auto waited = Clock::now() - start;
  EXPECT_FALSE(interrupted);
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::milliseconds(2000));

  start = Clock::now();
  EXPECT_TRUE(owner->WaitUntil([] { return true; }, -1, &interrupted));
  EXPECT_FALSE(interrupted);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
}

TEST_F(NodeConnectionTest, InterruptCheckEndsWaits) {
  auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Worker, worker_id_);
  ASSERT_TRUE(conn.ok());
  int checks = 0;
  (*conn)->SetInterruptCheck([&checks] { return ++checks >= 2; });
  bool interrupted = false;
  EXPECT_FALSE((*conn)->WaitUntil([] { return false; }, -1, &interrupted));
  EXPECT_TRUE(interrupted);
  EXPECT_EQ(checks, 2);
  interrupted = false;
  EXPECT_FALSE((*conn)->NextTask(&interrupted).has_value());
  EXPECT_TRUE(interrupted);
}

TEST_F(NodeConnectionTest, NodeThatGoesAwayEndsWaits) {
  auto worker = Connect(wire::Role::Worker, worker_id_, &worker_events_);
  ASSERT_NE(worker, nullptr);
  FakeNode::Disconnect(node_.WaitForClient(0));
  bool interrupted = true;
  EXPECT_FALSE(worker->WaitUntil([] { return false; }, -1, &interrupted));
  EXPECT_FALSE(interrupted);
  EXPECT_FALSE(worker->NextTask(&interrupted).has_value());
  EXPECT_FALSE(interrupted);
}

// A frame from the node that fails verification may have been the reply a caller waits for: the
// connection closes, and the waiting call says why instead of waiting for ever.
TEST_F(NodeConnectionTest, UnverifiableFrameFromTheNodeEndsWaitingCallsWithTheReason) {
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_NE(owner, nullptr);
  FakeNode::Client* client = node_.WaitForClient(0);
  ASSERT_NE(client, nullptr);
  uint64_t request_id = owner->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  std::string request(FinishEnvelope(b, wire::CreateInfoRequest(b, request_id)));
  auto started = Clock::now();
  std::thread node([client] {
    (void)FakeNode::ReadFrame(client, kWaitMs);  // The request.
    (void)FakeNode::SendFrame(client, "this is no flatbuffer at all");
  });
  auto reply = owner->Call(request_id, request);
  node.join();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("failed verification"), std::string::npos)
      << reply.status();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  // Later calls fail at once with the same reason.
  auto again = owner->Call(owner->NextRequestId(), request);
  EXPECT_NE(again.status().message().find("failed verification"), std::string::npos);
}

TEST_F(NodeConnectionTest, SendFramedSendsTheFramesThenTheEnvelope) {
  auto owner = Connect(wire::Role::Driver, WorkerID(), &owner_events_);
  ASSERT_NE(owner, nullptr);
  FakeNode::Client* client = node_.WaitForClient(0);
  ASSERT_NE(client, nullptr);
  std::string frames;
  for (const char* name : {"a", "b", "c"}) AppendFrame(&frames, TaskStartedEnvelope(name));
  std::string one_frame;
  AppendFrame(&one_frame, TaskStartedEnvelope("x"));
  ASSERT_TRUE(owner->SendFramed(frames, TaskStartedEnvelope("d")).ok());
  ASSERT_TRUE(owner->SendFramed(one_frame, "").ok());                 // Frames alone.
  ASSERT_TRUE(owner->SendFramed("", TaskStartedEnvelope("e")).ok());  // Envelope alone.
  ASSERT_TRUE(owner->SendFramed("", "").ok());                        // Nothing.
  ASSERT_TRUE(owner->Send(TaskStartedEnvelope("f")).ok());
  for (const char* name : {"a", "b", "c", "d", "x", "e", "f"}) {
    EXPECT_EQ(StartedName(FakeNode::ReadFrame(client, kWaitMs)), name);
  }
}

}  // namespace
}  // namespace rayx
