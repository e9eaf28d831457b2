#include "engine/objects/object_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "engine/objects/object_table_fixture.h"
#include "engine/objects/shm_file.h"

namespace rayx {
namespace {

using ObjectTableTest = ObjectTableFixture;

TEST_F(ObjectTableTest, WaitersRunWhenTheValueArrives) {
  ObjectID id = Id(0);
  table_->CreatePending(id);
  table_->AddHolder(id);
  int calls = 0;
  table_->OnReady(id, [&] { calls++; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(table_->Get(id), nullptr);
  table_->Seal(id, Inline("v"));
  EXPECT_EQ(calls, 1);
  ASSERT_NE(table_->Get(id), nullptr);
  EXPECT_EQ(table_->Get(id)->inline_data, "v");
  table_->OnReady(id, [&] { calls++; });  // Ready now: runs at once.
  EXPECT_EQ(calls, 2);
}

TEST_F(ObjectTableTest, ObjectIsFreedWhenItsLastHolderGoes) {
  ObjectID id = Id(1);
  table_->AddHolder(id);
  table_->Seal(id, InShm(id));
  EXPECT_TRUE(FileExists(id));
  table_->Pin(id);  // A task takes it as an argument.
  table_->RemoveHolder(id);
  EXPECT_TRUE(table_->IsReady(id));
  table_->Unpin(id);
  EXPECT_FALSE(table_->Exists(id));
  EXPECT_FALSE(FileExists(id));
}

TEST_F(ObjectTableTest, ContainedObjectsLiveAsLongAsTheirContainer) {
  ObjectID inner = Id(2), outer = Id(3);
  table_->AddHolder(inner);
  table_->Seal(inner, InShm(inner));
  table_->AddHolder(outer);
  table_->Seal(outer, Inline("holds inner", {inner}));
  table_->RemoveHolder(inner);
  EXPECT_TRUE(table_->IsReady(inner)) << "the container still refers to it";
  table_->RemoveHolder(outer);
  EXPECT_FALSE(table_->Exists(outer));
  EXPECT_FALSE(table_->Exists(inner));
  EXPECT_FALSE(FileExists(inner));
}

TEST_F(ObjectTableTest, AValueNobodyHoldsIsDroppedOnArrival) {
  ObjectID id = Id(4);
  table_->CreatePending(id);
  table_->AddHolder(id);
  table_->RemoveHolder(id);  // The caller dropped the ref before the task finished.
  StoredValue v = InShm(id);
  table_->Seal(id, v);
  EXPECT_FALSE(table_->Exists(id));
  EXPECT_FALSE(FileExists(id));
}

// Seal says whether the object is still here afterwards: the task manager keeps a finished
// task's lineage only then.
TEST_F(ObjectTableTest, SealSaysWhetherTheObjectIsStillHere) {
  ObjectID held = Id(10), dropped = Id(11), unknown = Id(12), freed_by_waiter = Id(13);
  table_->AddHolder(held);
  EXPECT_TRUE(table_->Seal(held, Inline("kept")));
  EXPECT_TRUE(table_->Seal(held, Inline("second"))) << "a second value: the first is still here";
  table_->CreatePending(dropped);
  table_->AddHolder(dropped);
  table_->RemoveHolder(dropped);
  EXPECT_FALSE(table_->Seal(dropped, Inline("nobody holds it")));
  EXPECT_FALSE(table_->Seal(unknown, Inline("never asked for")));
  table_->AddHolder(freed_by_waiter);
  table_->OnReady(freed_by_waiter, [&] { table_->RemoveHolder(freed_by_waiter); });
  EXPECT_FALSE(table_->Seal(freed_by_waiter, Inline("its waiter let go")));
  EXPECT_FALSE(table_->Exists(freed_by_waiter));
}

TEST_F(ObjectTableTest, ASecondValueForTheSameIdIsIgnored) {
  ObjectID id = Id(5);
  table_->AddHolder(id);
  table_->Seal(id, Inline("first"));
  table_->Seal(id, Inline("second"));
  EXPECT_EQ(table_->Get(id)->inline_data, "first");
  EXPECT_EQ(table_->Stats().num_objects, 1u);
}

TEST_F(ObjectTableTest, DroppedCopiesAreAskedForOnceWhenFirstNeeded) {
  ObjectID id = Id(6);
  table_->AddHolder(id);
  table_->Seal(id, InShm(id));
  std::vector<ObjectID> asked;
  table_->SetLostHandler([&](const ObjectID& lost) { asked.push_back(lost); });
  ASSERT_TRUE(table_->DropCopies(id).value());
  EXPECT_FALSE(FileExists(id));
  EXPECT_TRUE(table_->Exists(id));
  EXPECT_TRUE(table_->IsLost(id));
  EXPECT_FALSE(table_->IsReady(id));
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  EXPECT_TRUE(asked.empty()) << "nothing needs it yet";
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  table_->OnReady(id, [&] { calls++; });
  EXPECT_EQ(asked, std::vector<ObjectID>{id}) << "asked once, on the first need";
  EXPECT_FALSE(table_->IsLost(id));
  table_->Seal(id, Inline("rebuilt"));  // The rebuild's value.
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(table_->Get(id)->inline_data, "rebuilt");
}

TEST_F(ObjectTableTest, ALostObjectWithoutAHandlerIsAnError) {
  ObjectID id = Id(7);
  table_->AddHolder(id);
  table_->Seal(id, Inline("v"));
  ASSERT_TRUE(table_->DropCopies(id).value());
  int calls = 0;
  table_->OnReady(id, [&] { calls++; });
  EXPECT_EQ(calls, 1);
  ASSERT_NE(table_->Get(id), nullptr);
  EXPECT_EQ(table_->Get(id)->kind, ValueKind::kSystemError);
  EXPECT_EQ(table_->Get(id)->inline_data.rfind("OBJECT_LOST: ", 0), 0u);
}

TEST_F(ObjectTableTest, OnlyAReadyValueHasCopiesToDrop) {
  ObjectID pending = Id(8);
  table_->CreatePending(pending);
  table_->AddHolder(pending);
  EXPECT_FALSE(table_->DropCopies(pending).value());
  EXPECT_FALSE(table_->IsLost(pending));
  EXPECT_FALSE(table_->DropCopies(Id(9)).value()) << "unknown";
  EXPECT_FALSE(table_->Exists(Id(9)));
  table_->CreateLost(Id(9));
  EXPECT_TRUE(table_->IsLost(Id(9)));
}

TEST_F(ObjectTableTest, ADroppedValueLetsGoOfWhatItContained) {
  ObjectID inner = Id(10), outer = Id(11);
  table_->AddHolder(inner);
  table_->Seal(inner, InShm(inner));
  table_->AddHolder(outer);
  table_->Seal(outer, Inline("holds inner", {inner}));
  table_->RemoveHolder(inner);
  std::vector<ObjectID> freed;
  table_->SetFreeListener([&](const ObjectID& id) { freed.push_back(id); });
  ASSERT_TRUE(table_->DropCopies(outer).value());
  EXPECT_FALSE(table_->Exists(inner));
  EXPECT_FALSE(FileExists(inner));
  EXPECT_EQ(freed, std::vector<ObjectID>{inner});
  table_->RemoveHolder(outer);  // A lost object is freed like any other.
  EXPECT_FALSE(table_->Exists(outer));
  EXPECT_EQ(freed, (std::vector<ObjectID>{inner, outer}));
}

TEST_F(ObjectTableTest, DroppingASpilledObjectRemovesItsSpillFile) {
  table_.reset();
  std::string spill = dir_ + "/spill";
  ASSERT_EQ(mkdir(spill.c_str(), 0700), 0);
  table_ = std::make_unique<ObjectTable>(ObjectTableOptions{dir_, spill, 4096, nullptr});
  ObjectID first = Id(12), second = Id(13);
  table_->AddHolder(first);
  table_->Seal(first, InShm(first));
  table_->AddHolder(second);
  table_->Seal(second, InShm(second));  // Over capacity: the first is spilled (inline copy).
  ASSERT_EQ(table_->Stats().num_spilled, 1u);
  ASSERT_TRUE(table_->DropCopies(first).value());
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.num_spilled, 0u);
  EXPECT_EQ(stats.spilled_bytes, 0u);
  EXPECT_EQ(stats.shm_bytes, 4096u);
  table_.reset();
  EXPECT_EQ(rmdir(spill.c_str()), 0) << "the spill file is gone";
}

// Remote values: a fake fetcher that records each fetch, which the test then ends.
class RemoteObjectTest : public ObjectTableTest {
 protected:
  struct Fetch {
    ObjectID id;
    NodeID location;
    uint64_t size = 0;
    std::string path;
    std::function<void(Status)> done;
  };

  void SetUp() override {
    ObjectTableTest::SetUp();
    Wire();
  }

  void Wire() {
    table_->SetFetcher([this](const ObjectID& id, const NodeID& location, uint64_t size,
                              const std::string& path, std::function<void(Status)> done) {
      fetches_.push_back(Fetch{id, location, size, path, std::move(done)});
    });
    table_->SetLostHandler([this](const ObjectID& id) { lost_.push_back(id); });
    table_->SetRemoteFreeListener([this](const ObjectID& id, const NodeID& location) {
      remote_freed_.emplace_back(id, location);
    });
  }

  StoredValue Remote(uint64_t size = 4096) {
    StoredValue v;
    v.in_shm = true;
    v.shm_size = size;
    return v;
  }

  // Ends a fetch as the fetcher would: on success the whole file is at its path.
  void Finish(Fetch& fetch, Status status) {
    if (status.ok()) {
      auto region = CreateObjectFile(fetch.path, fetch.size);
      ASSERT_TRUE(region.ok()) << region.status();
    }
    fetch.done(status);
  }

  bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

  NodeID node_a_ = NodeID::FromRandom();
  NodeID node_b_ = NodeID::FromRandom();
  std::vector<Fetch> fetches_;
  std::vector<ObjectID> lost_;
  std::vector<std::pair<ObjectID, NodeID>> remote_freed_;
};

TEST_F(RemoteObjectTest, ARemoteValueIsReadyButNotAvailable) {
  ObjectID id = Id(20);
  table_->CreatePending(id);
  table_->AddHolder(id);
  int ready = 0;
  table_->OnReady(id, [&] { ready++; });
  table_->SealRemote(id, Remote(), node_a_);
  EXPECT_EQ(ready, 1);
  EXPECT_TRUE(table_->IsReady(id));
  EXPECT_FALSE(table_->IsAvailable(id));
  ASSERT_NE(table_->Get(id), nullptr);
  EXPECT_TRUE(table_->Get(id)->in_shm);
  EXPECT_EQ(table_->Get(id)->shm_size, 4096u);
  EXPECT_EQ(table_->Location(id), node_a_);
  EXPECT_EQ(table_->ReadablePath(id), "");
  EXPECT_TRUE(fetches_.empty()) << "nothing needs its bytes yet";
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.num_objects, 1u);
  EXPECT_EQ(stats.num_remote, 1u);
  EXPECT_EQ(stats.num_in_memory, 0u);
  EXPECT_EQ(stats.shm_bytes, 0u);
}

// A hostile client's value that holds a reference to itself: when its fetch fails, releasing
// what it held frees it, and the table must not read it after (a use after free under ASan,
// found by //engine/node:envelope_fuzz_test).
TEST_F(RemoteObjectTest, AFailedFetchOfAValueHoldingItselfFreesItCleanly) {
  ObjectID id = Id(29);
  table_->AddHolder(id);
  StoredValue v = Remote();
  v.contained = {id};
  table_->SealRemote(id, std::move(v), node_a_);
  uint64_t handle = table_->OnAvailable(id, [] {});
  ASSERT_EQ(fetches_.size(), 1u);
  table_->CancelWaiter(id, handle);
  table_->RemoveHolder(id);
  Finish(fetches_[0], Unavailable("the other node is gone"));
  EXPECT_TRUE(lost_.empty());
  EXPECT_FALSE(table_->Exists(id));
}

TEST_F(RemoteObjectTest, TwoWaitersShareOneFetchThatMakesItAvailable) {
  ObjectID id = Id(21);
  table_->AddHolder(id);
  table_->SealRemote(id, Remote(), node_a_);
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  table_->OnAvailable(id, [&] { calls++; });
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].id, id);
  EXPECT_EQ(fetches_[0].location, node_a_);
  EXPECT_EQ(fetches_[0].size, 4096u);
  EXPECT_NE(fetches_[0].path, table_->PathOf(id));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(table_->Location(id), node_a_) << "only copy still there while it is fetched";
  Finish(fetches_[0], Status::OK());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(table_->IsAvailable(id));
  EXPECT_TRUE(FileExists(id));
  EXPECT_FALSE(Exists(fetches_[0].path));
  EXPECT_TRUE(table_->Location(id).IsNil());
  EXPECT_EQ(table_->ReadablePath(id), table_->PathOf(id));
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.num_remote, 0u);
  EXPECT_EQ(stats.num_in_memory, 1u);
  EXPECT_EQ(stats.shm_bytes, 4096u);
  EXPECT_EQ(stats.pull_count, 1u);
  EXPECT_EQ(stats.pull_bytes_total, 4096u);
  table_->OnAvailable(id, [&] { calls++; });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(fetches_.size(), 1u);
}

TEST_F(RemoteObjectTest, AWaitForAvailabilityOutlastsARemoteSeal) {
  ObjectID id = Id(22);
  table_->CreatePending(id);
  table_->AddHolder(id);
  int available = 0, ready = 0;
  table_->OnAvailable(id, [&] { available++; });
  table_->OnReady(id, [&] { ready++; });
  table_->SealRemote(id, Remote(), node_a_);
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(available, 0) << "the bytes are not here yet";
  ASSERT_EQ(fetches_.size(), 1u) << "the waiter starts the fetch";
  Finish(fetches_[0], Status::OK());
  EXPECT_EQ(available, 1);
}

TEST_F(RemoteObjectTest, AFailedFetchLosesTheObject) {
  ObjectID id = Id(23);
  table_->AddHolder(id);
  table_->SealRemote(id, Remote(), node_a_);
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  ASSERT_EQ(fetches_.size(), 1u);
  Finish(fetches_[0], Unavailable("node a is gone"));
  EXPECT_EQ(lost_, std::vector<ObjectID>{id}) << "rebuilt at once: it is needed";
  EXPECT_FALSE(table_->IsReady(id));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  EXPECT_TRUE(table_->RemoteAt(node_a_).empty());
  table_->Seal(id, Inline("rebuilt"));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(remote_freed_.empty()) << "a failed fetch's copy is not there to free";
}

TEST_F(RemoteObjectTest, AFailedFetchWithoutAHandlerIsAnError) {
  table_->SetLostHandler(nullptr);
  ObjectID id = Id(24);
  table_->AddHolder(id);
  table_->SealRemote(id, Remote(), node_a_);
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  Finish(fetches_[0], IoError("short chunk"));
  EXPECT_EQ(calls, 1);
  ASSERT_NE(table_->Get(id), nullptr);
  EXPECT_EQ(table_->Get(id)->inline_data.rfind("OBJECT_LOST: ", 0), 0u);
}

TEST_F(RemoteObjectTest, ARemoteValueCanBeDropped) {
  ObjectID id = Id(25);
  table_->AddHolder(id);
  table_->SealRemote(id, Remote(), node_a_);
  ASSERT_TRUE(table_->DropCopies(id).value());
  EXPECT_TRUE(table_->IsLost(id));
  EXPECT_TRUE(lost_.empty()) << "nothing needs it yet";
  EXPECT_TRUE(table_->RemoteAt(node_a_).empty());
  EXPECT_EQ(table_->Stats().num_remote, 0u);
  table_->RemoveHolder(id);
  EXPECT_FALSE(table_->Exists(id));
  EXPECT_TRUE(remote_freed_.empty()) << "its copy is gone already";
}

TEST_F(RemoteObjectTest, AFetchThatEndsAfterItsObjectWasDroppedDoesNothing) {
  ObjectID id = Id(26);
  table_->AddHolder(id);
  table_->SealRemote(id, Remote(), node_a_);
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  ASSERT_EQ(fetches_.size(), 1u);
  ASSERT_TRUE(table_->DropCopies(id).value());
  EXPECT_EQ(lost_, std::vector<ObjectID>{id}) << "its waiter needs it";
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  // Rebuilt on node b: the waiter fetches the new value.
  table_->SealRemote(id, Remote(), node_b_);
  ASSERT_EQ(fetches_.size(), 2u);
  EXPECT_EQ(fetches_[1].location, node_b_);
  Finish(fetches_[0], Status::OK());  // The first fetch ends late.
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(table_->IsAvailable(id));
  EXPECT_FALSE(FileExists(id));
  EXPECT_FALSE(Exists(fetches_[0].path)) << "the late file is removed";
  EXPECT_EQ(table_->Stats().shm_bytes, 4096u) << "the second fetch's room only";
  EXPECT_EQ(table_->Stats().pull_count, 0u);
  Finish(fetches_[1], Status::OK());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(table_->IsAvailable(id));
}

TEST_F(RemoteObjectTest, RemoteAtListsTheObjectsWhoseOnlyCopyIsThere) {
  ObjectID remote_a = Id(27), pulling_a = Id(28), remote_b = Id(29), local = Id(30),
           pulled_a = Id(31);
  for (const ObjectID& id : {remote_a, pulling_a, remote_b, local, pulled_a}) {
    table_->AddHolder(id);
  }
  table_->SealRemote(remote_a, Remote(), node_a_);
  table_->SealRemote(pulling_a, Remote(), node_a_);
  table_->SealRemote(remote_b, Remote(), node_b_);
  table_->Seal(local, InShm(local));
  table_->SealRemote(pulled_a, Remote(), node_a_);
  table_->OnAvailable(pulled_a, [] {});
  Finish(fetches_.back(), Status::OK());
  table_->OnAvailable(pulling_a, [] {});
  std::vector<ObjectID> at_a = table_->RemoteAt(node_a_);
  std::sort(at_a.begin(), at_a.end());
  std::vector<ObjectID> want = {remote_a, pulling_a};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(at_a, want);
  EXPECT_EQ(table_->RemoteAt(node_b_), std::vector<ObjectID>{remote_b});
  EXPECT_TRUE(table_->RemoteAt(NodeID::FromRandom()).empty());
}

TEST_F(RemoteObjectTest, FreeingAValueFromAnotherNodeTellsTheListener) {
  ObjectID remote = Id(32), pulled = Id(33), local = Id(34), pulling = Id(35);
  for (const ObjectID& id : {remote, pulled, local, pulling}) table_->AddHolder(id);
  table_->SealRemote(remote, Remote(), node_a_);
  table_->SealRemote(pulled, Remote(), node_b_);
  table_->OnAvailable(pulled, [] {});
  Finish(fetches_.back(), Status::OK());
  table_->Seal(local, InShm(local));
  table_->SealRemote(pulling, Remote(), node_a_);
  uint64_t handle = table_->OnAvailable(pulling, [] {});
  table_->RemoveHolder(remote);
  EXPECT_FALSE(table_->Exists(remote));
  table_->RemoveHolder(pulled);
  EXPECT_FALSE(table_->Exists(pulled));
  EXPECT_FALSE(FileExists(pulled)) << "the fetched copy goes like any other";
  table_->RemoveHolder(local);
  table_->RemoveHolder(pulling);
  table_->CancelWaiter(pulling, handle);  // A get that timed out.
  EXPECT_FALSE(table_->Exists(pulling));
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  std::vector<std::pair<ObjectID, NodeID>> want = {
      {remote, node_a_}, {pulled, node_b_}, {pulling, node_a_}};
  EXPECT_EQ(remote_freed_, want);
  Finish(fetches_.back(), Status::OK());  // The fetch of the freed one ends.
  EXPECT_FALSE(table_->Exists(pulling));
  EXPECT_FALSE(Exists(fetches_.back().path));
  EXPECT_FALSE(FileExists(pulling));
  // A remote value nobody holds is let go of at once; so is a second value from elsewhere.
  table_->SealRemote(Id(36), Remote(), node_b_);
  ObjectID twice = Id(37);
  table_->AddHolder(twice);
  table_->SealRemote(twice, Remote(), node_a_);
  table_->SealRemote(twice, Remote(), node_a_);  // Same node: it replaced the first there.
  table_->SealRemote(twice, Remote(), node_b_);
  want.emplace_back(Id(36), node_b_);
  want.emplace_back(twice, node_b_);
  EXPECT_EQ(remote_freed_, want);
  EXPECT_EQ(table_->Location(twice), node_a_);
}

TEST_F(RemoteObjectTest, ABorrowedObjectTellsItsLenderWhenFreedAndWhenLost) {
  ObjectID pending = Id(40), inline_value = Id(41), remote = Id(42), own = Id(43);
  table_->CreateBorrowed(pending, node_a_);
  table_->CreateBorrowed(inline_value, node_a_);
  table_->CreateBorrowed(remote, node_b_);
  table_->CreatePending(own);
  table_->CreateBorrowed(own, node_b_);  // Known already: stays this node's own.
  for (const ObjectID& id : {pending, inline_value, remote, own}) table_->AddHolder(id);
  EXPECT_EQ(table_->Lender(pending), node_a_);
  EXPECT_TRUE(table_->Lender(own).IsNil());
  EXPECT_TRUE(table_->Lender(Id(44)).IsNil());
  table_->Seal(inline_value, Inline("borrowed"));
  table_->SealRemote(remote, Remote(), node_b_);
  std::vector<ObjectID> by_a = table_->LentBy(node_a_);
  std::sort(by_a.begin(), by_a.end());
  std::vector<ObjectID> want_a = {pending, inline_value};
  std::sort(want_a.begin(), want_a.end());
  EXPECT_EQ(by_a, want_a);
  EXPECT_EQ(table_->LentBy(node_b_), std::vector<ObjectID>{remote});

  // Lost copies go to the lost handler, like any object's; the lender is kept.
  ASSERT_TRUE(table_->DropCopies(inline_value).value());
  table_->OnReady(inline_value, [] {});
  EXPECT_EQ(lost_, std::vector<ObjectID>{inline_value});
  EXPECT_EQ(table_->Lender(inline_value), node_a_);

  // Freed: the lender hears of each once, whether its value came, from where, or never.
  table_->RemoveHolder(pending);
  table_->RemoveHolder(remote);
  table_->RemoveHolder(own);
  std::vector<std::pair<ObjectID, NodeID>> want = {{pending, node_a_}, {remote, node_b_}};
  EXPECT_EQ(remote_freed_, want);
}

TEST_F(RemoteObjectTest, ARemoteValueIsNeverSpilledButAFetchedOneMayBe) {
  table_.reset();
  std::string spill = dir_ + "/spill";
  ASSERT_EQ(mkdir(spill.c_str(), 0700), 0);
  table_ = std::make_unique<ObjectTable>(ObjectTableOptions{dir_, spill, 4096, nullptr});
  Wire();
  ObjectID remote = Id(38), fetched = Id(39), local = Id(40);
  table_->AddHolder(remote);
  table_->SealRemote(remote, Remote(1 << 20), node_a_);  // Larger than the whole store.
  table_->AddHolder(fetched);
  table_->SealRemote(fetched, Remote(), node_a_);
  table_->OnAvailable(fetched, [] {});
  Finish(fetches_.back(), Status::OK());
  Status room = Internal("not called");
  table_->OnRoom([&](Status s) { room = s; });
  EXPECT_TRUE(room.ok()) << room;
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.num_spilled, 0u);
  EXPECT_EQ(stats.shm_bytes, 4096u);
  table_->AddHolder(local);
  table_->Seal(local, InShm(local));  // Over capacity: the fetched one (least recent) goes.
  stats = table_->Stats();
  EXPECT_EQ(stats.num_spilled, 1u);
  EXPECT_EQ(stats.num_remote, 1u);
  EXPECT_FALSE(FileExists(fetched));
  EXPECT_NE(table_->ReadablePath(fetched), "");
  EXPECT_EQ(table_->Location(remote), node_a_);
  table_.reset();
  EXPECT_EQ(rmdir(spill.c_str()), 0);
}

TEST_F(ObjectTableTest, GeneratorItemsLiveUntilTheirGeneratorIsFreed) {
  ObjectID generator = Id(0);
  table_->CreatePending(generator);
  table_->AddHolder(generator);
  EXPECT_TRUE(table_->SealItem(Id(1), Inline("a")));
  EXPECT_TRUE(table_->SealItem(Id(2), Inline("b")));
  ASSERT_TRUE(table_->IsReady(Id(1)));
  ASSERT_TRUE(table_->IsReady(Id(2)));
  // A taker holds item 1 on its own; item 2 is held by the generator only.
  table_->AddHolder(Id(1));
  table_->TakeItem(Id(1));
  table_->Seal(generator, Inline("2"));
  table_->RemoveHolder(generator);
  EXPECT_FALSE(table_->Exists(generator));
  EXPECT_TRUE(table_->IsReady(Id(1)));
  EXPECT_FALSE(table_->Exists(Id(2)));
  table_->RemoveHolder(Id(1));
  EXPECT_FALSE(table_->Exists(Id(1)));
  EXPECT_EQ(table_->Stats().num_objects, 0u);
}

// A taken item lives as long as its taker holds it, while its generator goes on.
TEST_F(ObjectTableTest, ATakenGeneratorItemIsFreedWithItsLastHolder) {
  ObjectID generator = Id(0);
  table_->CreatePending(generator);
  table_->AddHolder(generator);
  EXPECT_TRUE(table_->SealItem(Id(1), Inline("a")));
  table_->AddHolder(Id(1));
  table_->TakeItem(Id(1));
  table_->TakeItem(Id(1));  // A second take changes nothing.
  table_->RemoveHolder(Id(1));
  EXPECT_FALSE(table_->Exists(Id(1)));
  EXPECT_TRUE(table_->Exists(generator));
  // An object that is not an item the generator holds is not affected.
  table_->AddHolder(Id(5));
  table_->TakeItem(Id(5));
  table_->TakeItem(generator);
  EXPECT_TRUE(table_->Exists(Id(5)));
  EXPECT_TRUE(table_->Exists(generator));
  // A retried run puts the freed item again: held by the generator again, freed with it.
  EXPECT_TRUE(table_->SealItem(Id(1), Inline("a again")));
  EXPECT_EQ(table_->Get(Id(1))->inline_data, "a again");
  table_->RemoveHolder(generator);
  EXPECT_FALSE(table_->Exists(Id(1)));
  table_->RemoveHolder(Id(5));
  EXPECT_EQ(table_->Stats().num_objects, 0u);
}

TEST_F(ObjectTableTest, GeneratorItemsPutAgainAreDropped) {
  ObjectID generator = Id(0);
  table_->CreatePending(generator);
  table_->AddHolder(generator);
  EXPECT_TRUE(table_->SealItem(Id(1), Inline("first")));
  EXPECT_TRUE(table_->SealItem(Id(2), Inline("second")));
  // A retried run yields the same items again: the first values stay.
  EXPECT_FALSE(table_->SealItem(Id(1), Inline("again")));
  EXPECT_FALSE(table_->SealItem(Id(2), Inline("again")));
  EXPECT_TRUE(table_->SealItem(Id(3), Inline("third")));
  EXPECT_EQ(table_->Get(Id(1))->inline_data, "first");
  EXPECT_EQ(table_->Get(Id(2))->inline_data, "second");
  table_->RemoveHolder(generator);  // Freed while still pending: the items go with it.
  EXPECT_EQ(table_->Stats().num_objects, 0u);
  EXPECT_FALSE(table_->Exists(Id(3)));
}

TEST_F(ObjectTableTest, GeneratorItemsOfAFreedGeneratorAreDropped) {
  ObjectID item = Id(1);
  ObjectID shm_item = Id(2);
  EXPECT_FALSE(table_->SealItem(item, Inline("a")));
  EXPECT_FALSE(table_->Exists(item));
  EXPECT_FALSE(table_->SealItem(shm_item, InShm(shm_item)));
  EXPECT_FALSE(table_->Exists(shm_item));
  EXPECT_FALSE(FileExists(shm_item));
}

TEST_F(ObjectTableTest, AWaiterSeesAGeneratorItemThatDidNotExistYet) {
  ObjectID generator = Id(0);
  table_->CreatePending(generator);
  table_->AddHolder(generator);
  int calls = 0;
  uint64_t handle = table_->OnReady(Id(1), [&] { calls++; });
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(table_->SealItem(Id(1), Inline("a")));
  EXPECT_EQ(calls, 1);
  table_->CancelWaiter(Id(1), handle);
  EXPECT_TRUE(table_->IsReady(Id(1)));  // Held by the generator, not by the waiter.
  // A waiter on an item that never comes leaves nothing behind once cancelled.
  uint64_t never = table_->OnReady(Id(2), [&] { calls++; });
  table_->CancelWaiter(Id(2), never);
  EXPECT_FALSE(table_->Exists(Id(2)));
  table_->RemoveHolder(generator);
  EXPECT_FALSE(table_->Exists(Id(1)));
}

}  // namespace
}  // namespace rayx
