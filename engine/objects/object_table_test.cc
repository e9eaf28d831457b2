#include "engine/objects/object_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine/objects/shm_file.h"

namespace rayx {
namespace {

class ObjectTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-object-table-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    table_ = std::make_unique<ObjectTable>(dir_);
  }
  void TearDown() override {
    table_.reset();
    rmdir(dir_.c_str());
  }

  ObjectID Id(uint32_t i) { return ObjectID::ForReturn(TaskID::ForDriver(JobID::FromInt(1)), i); }

  StoredValue Inline(const std::string& data, std::vector<ObjectID> contained = {}) {
    StoredValue v;
    v.inline_data = data;
    v.contained = std::move(contained);
    return v;
  }

  bool FileExists(const ObjectID& id) { return access(table_->PathOf(id).c_str(), F_OK) == 0; }

  StoredValue InShm(const ObjectID& id) {
    auto region = CreateObjectFile(table_->PathOf(id), 4096);
    EXPECT_TRUE(region.ok());
    StoredValue v;
    v.in_shm = true;
    v.shm_size = 4096;
    return v;
  }

  std::string dir_;
  std::unique_ptr<ObjectTable> table_;
};

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

}  // namespace
}  // namespace rayx
