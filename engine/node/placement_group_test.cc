// Placement groups at the node (PlacementGroupManager behind NodeService), asked by a driver's
// client runtime: reservation all at once with the derived resources, a pending group reserved when
// resources free, removal, lookups, the table, refusals, and groups removed with their driver.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/client/client_runtime.h"
#include "engine/node/node.h"
#include "engine/sched/placement_group_resources.h"

namespace rayx {
namespace {

constexpr uint8_t kCreate = 0, kRemove = 1, kGet = 2, kTable = 3;

PlacementGroupInfo Group(char tag, std::vector<std::map<std::string, double>> bundles,
                         std::string strategy = "PACK", std::string name = "") {
  PlacementGroupInfo group;
  group.id = std::string(kPlacementGroupIdSize, tag);
  group.name = std::move(name);
  group.strategy = std::move(strategy);
  group.bundles = std::move(bundles);
  return group;
}

class PlacementGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RAYX_HOME", ::testing::TempDir().c_str(), 1);
    setenv("RAYX_LINEAGE", "0", 1);
    NodeOptions options;
    options.num_cpus = 2;
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(node).value();
    driver_ = Connect();
  }
  void TearDown() override {
    driver_.reset();
    if (node_) node_->Stop();
  }

  std::unique_ptr<ClientRuntime> Connect() {
    auto client = ClientRuntime::Connect(node_->socket_path(), ClientRole::kDriver, WorkerID());
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  PlacementGroupAnswer Call(uint8_t op, const PlacementGroupInfo& group,
                            ClientRuntime* client = nullptr) {
    auto answer = (client ? client : driver_.get())->PlacementGroupCall(op, group);
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? *answer : PlacementGroupAnswer{"call failed", {}};
  }
  int StateOf(char tag) {
    PlacementGroupAnswer answer = Call(kGet, Group(tag, {}));
    EXPECT_EQ(answer.error, "");
    return answer.groups.empty() ? -1 : answer.groups[0].state;
  }
  std::map<std::string, double> Available() {
    auto nodes = driver_->Nodes();
    EXPECT_TRUE(nodes.ok() && !nodes->empty());
    return nodes.ok() && !nodes->empty() ? (*nodes)[0].available : std::map<std::string, double>();
  }
  std::map<std::string, double> Total() {
    auto nodes = driver_->Nodes();
    EXPECT_TRUE(nodes.ok() && !nodes->empty());
    return nodes.ok() && !nodes->empty() ? (*nodes)[0].total : std::map<std::string, double>();
  }

  std::unique_ptr<Node> node_;
  std::unique_ptr<ClientRuntime> driver_;
};

TEST_F(PlacementGroupTest, ReservesAllBundlesAndGivesThemBack) {
  PlacementGroupAnswer created =
      Call(kCreate, Group('a', {{{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_PACK", "pair"));
  ASSERT_EQ(created.error, "");
  ASSERT_EQ(created.groups.size(), 1u);
  EXPECT_EQ(created.groups[0].state, 1);
  EXPECT_EQ(created.groups[0].node_id, node_->node_id());
  EXPECT_EQ(created.groups[0].strategy, "STRICT_PACK");
  std::string hex = PlacementGroupHex(std::string(kPlacementGroupIdSize, 'a'));
  EXPECT_EQ(Available().count("CPU"), 0u);
  EXPECT_EQ(Total()["CPU_group_" + hex], 2);
  EXPECT_EQ(Total()["CPU_group_1_" + hex], 1);
  EXPECT_EQ(Total()["bundle_group_" + hex], 2000);

  PlacementGroupInfo by_name = Group(0, {});
  by_name.id.clear();
  by_name.name = "pair";
  PlacementGroupAnswer found = Call(kGet, by_name);
  ASSERT_EQ(found.groups.size(), 1u);
  EXPECT_EQ(found.groups[0].id, std::string(kPlacementGroupIdSize, 'a'));
  EXPECT_EQ(found.groups[0].bundles.size(), 2u);

  EXPECT_EQ(Call(kRemove, Group('a', {})).error, "");
  EXPECT_EQ(StateOf('a'), 2);
  EXPECT_EQ(Available()["CPU"], 2);
  for (const auto& [name, amount] : Total()) EXPECT_EQ(name.find("_group_"), std::string::npos);
  // Removed: still in the table, not found by name any more, and removing again is no error.
  EXPECT_EQ(Call(kTable, Group(0, {})).groups.size(), 1u);
  EXPECT_EQ(Call(kGet, by_name).error.rfind("NotFound: ", 0), 0u);
  EXPECT_EQ(Call(kRemove, Group('a', {})).error, "");
}

TEST_F(PlacementGroupTest, PendingGroupIsReservedWhenResourcesFree) {
  ASSERT_EQ(Call(kCreate, Group('a', {{{"CPU", 1.5}}})).error, "");
  PlacementGroupAnswer waiting = Call(kCreate, Group('b', {{{"CPU", 1}}, {{"CPU", 0.5}}}));
  ASSERT_EQ(waiting.error, "");
  EXPECT_EQ(waiting.groups[0].state, 0);
  // A later group that would fit waits behind it: groups are reserved in order.
  EXPECT_EQ(Call(kCreate, Group('c', {{{"CPU", 0.5}}})).groups[0].state, 0);
  EXPECT_EQ(Available()["CPU"], 0.5);
  ASSERT_EQ(Call(kRemove, Group('a', {})).error, "");
  EXPECT_EQ(StateOf('b'), 1);
  EXPECT_EQ(StateOf('c'), 1);
  EXPECT_EQ(Available().count("CPU"), 0u);
}

TEST_F(PlacementGroupTest, StrictSpreadOfSeveralBundlesWaitsOnOneNode) {
  EXPECT_EQ(
      Call(kCreate, Group('a', {{{"CPU", 0.1}}, {{"CPU", 0.1}}}, "STRICT_SPREAD")).groups[0].state,
      0);
  EXPECT_EQ(Available()["CPU"], 2);
  // It never fits one node, so it holds back nothing: one bundle is reserved at once, as is a
  // group after one asking more CPUs than the node has.
  EXPECT_EQ(Call(kCreate, Group('b', {{{"CPU", 0.1}}}, "STRICT_SPREAD")).groups[0].state, 1);
  EXPECT_EQ(Call(kCreate, Group('c', {{{"CPU", 3}}})).groups[0].state, 0);
  EXPECT_EQ(Call(kCreate, Group('d', {{{"CPU", 0.1}}})).groups[0].state, 1);
  EXPECT_EQ(StateOf('a'), 0);
  EXPECT_EQ(Call(kRemove, Group('a', {})).error, "");
  EXPECT_EQ(Available()["CPU"], 1.8);
}

TEST_F(PlacementGroupTest, BadRequestsAreRefusedWithTheReason) {
  PlacementGroupInfo short_id = Group('a', {{{"CPU", 1}}});
  short_id.id = "abc";
  EXPECT_EQ(Call(kCreate, short_id).error.rfind("InvalidArgument: ", 0), 0u);
  EXPECT_EQ(Call(kCreate, Group('a', {})).error.rfind("InvalidArgument: ", 0), 0u);
  EXPECT_EQ(Call(kCreate, Group('a', {{}})).error.rfind("InvalidArgument: ", 0), 0u);
  EXPECT_EQ(Call(kCreate, Group('a', {{{"CPU", -1}}})).error.rfind("InvalidArgument: ", 0), 0u);
  EXPECT_EQ(Call(kCreate, Group('a', {{{"CPU", 1}}}, "PACKED")).error.rfind("InvalidArgument", 0),
            0u);
  // A node without GPUs takes a GPU bundle, and it waits (pending) for a GPU that never comes.
  EXPECT_EQ(Call(kCreate, Group('g', {{{"GPU", 1}}})).error, "");
  EXPECT_EQ(StateOf('g'), 0);
  ASSERT_EQ(Call(kCreate, Group('a', {{{"CPU", 0.5}}}, "PACK", "x")).error, "");
  EXPECT_EQ(Call(kCreate, Group('a', {{{"CPU", 0.5}}})).error.rfind("InvalidArgument: ", 0), 0u);
  EXPECT_EQ(Call(kCreate, Group('b', {{{"CPU", 0.5}}}, "PACK", "x")).error.rfind("Invalid", 0), 0u);
  EXPECT_EQ(Call(kRemove, Group('z', {})).error.rfind("NotFound: ", 0), 0u);
  EXPECT_EQ(Call(kGet, Group('z', {})).error.rfind("NotFound: ", 0), 0u);
  EXPECT_EQ(Call(kTable, Group(0, {})).groups.size(), 2u);
}

TEST_F(PlacementGroupTest, GroupsGoWithTheDriverThatMadeThemUnlessDetached) {
  std::unique_ptr<ClientRuntime> other = Connect();
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(Call(kCreate, Group('a', {{{"CPU", 0.5}}}), other.get()).error, "");
  PlacementGroupInfo detached = Group('b', {{{"CPU", 0.5}}});
  detached.detached = true;
  ASSERT_EQ(Call(kCreate, detached, other.get()).error, "");
  EXPECT_EQ(Available()["CPU"], 1);
  other->Disconnect();
  other.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (StateOf('a') != 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(StateOf('a'), 2);
  EXPECT_EQ(StateOf('b'), 1);
  EXPECT_EQ(Available()["CPU"], 1.5);
}

}  // namespace
}  // namespace rayx
