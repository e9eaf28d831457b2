// PlacementGroupManager's two-phase reservation over members, against a fake cluster: the
// frames it sends to members are captured and answered by the test. What is checked is what the
// members and the user would see: which member is asked for which bundle, that nothing appears
// before every member has prepared, that a refusal or a lost member returns what was prepared
// everywhere, and that a member lost with bundles makes the group reschedule just those.
#include "engine/node/placement_group_manager.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <future>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/node/bundle_wire.h"
#include "engine/objects/object_table.h"
#include "engine/wire/messages.h"
#include "engine/worker/worker_pool.h"

namespace rayx {
namespace {

using State = PlacementGroupManager::State;

ResourceSet Res(const std::map<std::string, double>& amounts) {
  StatusOr<ResourceSet> set = ResourceSet::FromDoubles(amounts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : ResourceSet();
}

NodeID Node(char tag) { return NodeID::FromBinary(std::string(NodeID::kSize, tag)); }

struct Sent {
  NodeID to;
  BundleRequestFields request;
};

class PlacementGroupManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Start().ok());
    OnLoop([this] {
      objects_ = std::make_unique<ObjectTable>(::testing::TempDir());
      pool_ = std::make_unique<WorkerPool>(&loop_, WorkerPoolOptions{"/bin/false", "/nowhere"});
      tasks_ = std::make_unique<TaskManager>(objects_.get(), pool_.get(), &functions_,
                                             Res({{"CPU", 2}}), [](const std::string&) {});
      actors_ =
          std::make_unique<ActorManager>(objects_.get(), pool_.get(), tasks_.get(), &functions_);
      host_ = std::make_unique<BundleHost>(tasks_.get(), actors_.get());
      manager_ = std::make_unique<PlacementGroupManager>(&loop_, Node('a'), tasks_.get(),
                                                         actors_.get(), host_.get());
      PlacementGroupManager::Cluster cluster;
      cluster.members = [this] {
        std::vector<MemberResources> out;
        for (const auto& [id, cpus] : members_) {
          out.push_back(MemberResources{id, Res({{"CPU", cpus}}), Res({{"CPU", cpus}})});
        }
        return out;
      };
      cluster.send = [this](const NodeID& to, std::string_view frame) {
        StatusOr<const wire::Envelope*> envelope = ParseEnvelope(frame);
        EXPECT_TRUE(envelope.ok());
        StatusOr<BundleRequestFields> request =
            ReadBundleRequest((*envelope)->message_as_BundleRequest());
        EXPECT_TRUE(request.ok()) << request.status();
        sent_.push_back(Sent{to, *request});
        return true;
      };
      manager_->SetCluster(std::move(cluster));
    });
  }
  void TearDown() override {
    OnLoop([this] {
      manager_.reset();
      host_.reset();
      actors_.reset();
      tasks_.reset();
      pool_.reset();
      objects_.reset();
    });
    loop_.Stop();
  }

  void OnLoop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Creates a group of CPU bundles on the loop; returns its state.
  State Create(char tag, PlacementStrategy strategy, const std::vector<double>& cpus) {
    State state = State::kRemoved;
    OnLoop([&] {
      PlacementGroupManager::Group group;
      group.id = std::string(kPlacementGroupIdSize, tag);
      group.strategy = strategy;
      for (double c : cpus) group.bundles.push_back(Res({{"CPU", c}}));
      auto created = manager_->Create(std::move(group));
      ASSERT_TRUE(created.ok()) << created.status();
      state = (*created)->state;
    });
    return state;
  }
  const PlacementGroupManager::Group* Find(char tag) {
    const PlacementGroupManager::Group* group = nullptr;
    OnLoop([&] { group = manager_->Find(std::string(kPlacementGroupIdSize, tag)); });
    return group;
  }
  double Free(const std::string& name) {
    double amount = 0;
    OnLoop([&] { amount = tasks_->resources().available().Get(name); });
    return amount;
  }
  double Total(const std::string& name) {
    double amount = 0;
    OnLoop([&] { amount = tasks_->resources().total().Get(name); });
    return amount;
  }
  void Reply(const Sent& prepare, const std::string& error) {
    OnLoop([&] { manager_->OnPrepareReply(prepare.to, prepare.request.request_id, error); });
  }
  std::vector<Sent> Take() {
    std::vector<Sent> out;
    OnLoop([&] { out.swap(sent_); });
    return out;
  }

  EventLoop loop_;
  std::unordered_map<std::string, std::string> functions_;
  std::unique_ptr<ObjectTable> objects_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<TaskManager> tasks_;
  std::unique_ptr<ActorManager> actors_;
  std::unique_ptr<BundleHost> host_;
  std::unique_ptr<PlacementGroupManager> manager_;
  std::map<NodeID, double> members_ = {{Node('b'), 2}, {Node('c'), 2}};
  std::vector<Sent> sent_;  // Loop thread.
};

TEST_F(PlacementGroupManagerTest, CommitsOnlyOnceEveryMemberHasPrepared) {
  const std::string hex = PlacementGroupHex(std::string(kPlacementGroupIdSize, 'g'));
  EXPECT_EQ(Create('g', PlacementStrategy::kStrictSpread, {1, 1, 1}), State::kPending);
  // Phase one: this node's bundle is prepared (its CPU taken, nothing derived yet), b and c asked.
  EXPECT_EQ(Free("CPU"), 1);
  EXPECT_EQ(Total("CPU_group_" + hex), 0);
  std::vector<Sent> prepares = Take();
  ASSERT_EQ(prepares.size(), 2u);
  for (const Sent& s : prepares) {
    EXPECT_EQ(s.request.op, wire::BundleOp::Prepare);
    ASSERT_EQ(s.request.bundles.size(), 1u);
  }
  EXPECT_NE(prepares[0].to, prepares[1].to);
  Reply(prepares[0], "");
  EXPECT_EQ(Find('g')->state, State::kPending);  // c has not answered.
  EXPECT_TRUE(Take().empty());
  Reply(prepares[1], "");
  // Phase two: committed everywhere, and the group is created with a bundle per member.
  std::vector<Sent> commits = Take();
  ASSERT_EQ(commits.size(), 2u);
  for (const Sent& s : commits) EXPECT_EQ(s.request.op, wire::BundleOp::Commit);
  EXPECT_EQ(Find('g')->state, State::kCreated);
  EXPECT_EQ(Total("CPU_group_0_" + hex), 1);
  std::vector<NodeID> nodes = Find('g')->nodes;
  EXPECT_EQ(std::set<NodeID>(nodes.begin(), nodes.end()),
            (std::set<NodeID>{Node('a'), Node('b'), Node('c')}));
  // Removal returns the bundles on every member and here.
  OnLoop([&] { ASSERT_TRUE(manager_->Remove(std::string(kPlacementGroupIdSize, 'g')).ok()); });
  std::vector<Sent> returns = Take();
  ASSERT_EQ(returns.size(), 2u);
  for (const Sent& s : returns) EXPECT_EQ(s.request.op, wire::BundleOp::Return);
  EXPECT_EQ(Free("CPU"), 2);
  EXPECT_EQ(Total("CPU_group_" + hex), 0);
}

TEST_F(PlacementGroupManagerTest, RefusalReturnsWhatWasPreparedEverywhere) {
  EXPECT_EQ(Create('r', PlacementStrategy::kStrictSpread, {1, 1, 1}), State::kPending);
  std::vector<Sent> prepares = Take();
  ASSERT_EQ(prepares.size(), 2u);
  Reply(prepares[0], "");
  Reply(prepares[1], "the bundles do not fit what is free here now");
  std::vector<Sent> returns = Take();
  ASSERT_EQ(returns.size(), 2u);  // The one that prepared, and the one that refused (a no-op).
  for (const Sent& s : returns) EXPECT_EQ(s.request.op, wire::BundleOp::Return);
  EXPECT_EQ(Find('r')->state, State::kPending);
  EXPECT_EQ(Free("CPU"), 2);  // This node's prepared bundle is free again.
  // A late answer to the abandoned round changes nothing.
  Reply(prepares[0], "");
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(Find('r')->state, State::kPending);
}

TEST_F(PlacementGroupManagerTest, MemberLostMidwayReturnsThePreparedBundles) {
  EXPECT_EQ(Create('m', PlacementStrategy::kStrictSpread, {1, 1, 1}), State::kPending);
  std::vector<Sent> prepares = Take();
  ASSERT_EQ(prepares.size(), 2u);
  Reply(prepares[0], "");
  members_.erase(prepares[1].to);
  OnLoop([&] { manager_->OnMemberLost(prepares[1].to); });
  std::vector<Sent> returns = Take();
  ASSERT_GE(returns.size(), 1u);
  EXPECT_EQ(returns[0].request.op, wire::BundleOp::Return);
  // Two members left for three bundles: it waits, holding nothing.
  EXPECT_EQ(Find('m')->state, State::kPending);
  EXPECT_EQ(Free("CPU"), 2);
}

TEST_F(PlacementGroupManagerTest, LostBundleIsRescheduledAlone) {
  members_ = {{Node('b'), 2}};
  EXPECT_EQ(Create('s', PlacementStrategy::kSpread, {1, 1}), State::kPending);
  std::vector<Sent> prepares = Take();
  ASSERT_EQ(prepares.size(), 1u);
  EXPECT_EQ(prepares[0].to, Node('b'));
  Reply(prepares[0], "");
  Take();
  ASSERT_EQ(Find('s')->state, State::kCreated);
  EXPECT_EQ(Find('s')->nodes, (std::vector<NodeID>{Node('a'), Node('b')}));
  // b's link closes (it dies, but the others do not know yet); c has joined: bundle 1 goes to c,
  // not to b, which still looks like the emptiest member; bundle 0 stays here; until c prepares
  // the group says it is rescheduling.
  members_ = {{Node('b'), 2}, {Node('c'), 2}};
  OnLoop([&] { manager_->OnMemberLost(Node('b')); });
  EXPECT_EQ(Find('s')->state, State::kRescheduling);
  std::vector<Sent> again = Take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].to, Node('c'));
  ASSERT_EQ(again[0].request.bundles.size(), 1u);
  EXPECT_EQ(again[0].request.bundles[0].first, 1);
  EXPECT_EQ(Free("CPU"), 1);  // Bundle 0 was never given up.
  Reply(again[0], "");
  EXPECT_EQ(Find('s')->state, State::kCreated);
  EXPECT_EQ(Find('s')->nodes, (std::vector<NodeID>{Node('a'), Node('c')}));
}

TEST_F(PlacementGroupManagerTest, AllOnThisNodeNeedsNoMessages) {
  EXPECT_EQ(Create('p', PlacementStrategy::kPack, {1, 1}), State::kCreated);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(Free("CPU"), 0);
  // STRICT_PACK that this node cannot hold goes whole to a member.
  EXPECT_EQ(Create('q', PlacementStrategy::kStrictPack, {1, 1}), State::kPending);
  std::vector<Sent> prepares = Take();
  ASSERT_EQ(prepares.size(), 1u);
  EXPECT_EQ(prepares[0].request.bundles.size(), 2u);
}

TEST_F(PlacementGroupManagerTest, TooManyBundlesForAMemberAreRefused) {
  OnLoop([&] {
    PlacementGroupManager::Group group;
    group.id = std::string(kPlacementGroupIdSize, 't');
    group.bundles.assign(kMaxBundlesPerRequest + 1, Res({{"CPU", 0.001}}));
    EXPECT_EQ(manager_->Create(std::move(group)).status().code(), StatusCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace rayx
