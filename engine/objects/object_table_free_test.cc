// ObjectTable::Free, an object's value replaced by an OBJECT_FREED error (internal_api.free), and
// ObjectTable::List, the entries memory_summary reports.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/objects/object_table.h"
#include "engine/objects/object_table_fixture.h"
#include "engine/objects/shm_file.h"

namespace rayx {
namespace {

class ObjectTableFreeTest : public ObjectTableFixture {
 protected:
  void SetUp() override {
    ObjectTableFixture::SetUp();
    table_->SetLostHandler([this](const ObjectID& id) { lost_.push_back(id); });
  }

  void ExpectFreedError(const ObjectID& id) {
    ASSERT_TRUE(table_->IsReady(id));
    const StoredValue* value = table_->Get(id);
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->kind, ValueKind::kSystemError);
    EXPECT_EQ(value->inline_data.rfind("OBJECT_FREED: ", 0), 0u) << value->inline_data;
    EXPECT_NE(value->inline_data.find("manually freed"), std::string::npos);
    EXPECT_TRUE(table_->IsFreed(id));
    EXPECT_FALSE(table_->IsLost(id));
  }

  std::vector<ObjectID> lost_;
};

TEST_F(ObjectTableFreeTest, AFreedValueIsAnErrorAndItsMemoryGoes) {
  ObjectID id = Id(1);
  table_->AddHolder(id);
  table_->Seal(id, InShm(id));
  ASSERT_EQ(table_->Stats().shm_bytes, 4096u);
  EXPECT_TRUE(table_->Free(id));
  EXPECT_FALSE(FileExists(id));
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  ExpectFreedError(id);
  int calls = 0;
  table_->OnAvailable(id, [&] { calls++; });
  table_->OnReady(id, [&] { calls++; });
  EXPECT_EQ(calls, 2) << "ready at once, with the error";
  EXPECT_TRUE(lost_.empty()) << "a freed object is never rebuilt";
  EXPECT_FALSE(table_->Free(id)) << "freed already";
  EXPECT_FALSE(table_->DropCopies(id).value()) << "a freed object has no copies to lose";
  EXPECT_FALSE(table_->IsLost(id));
  table_->RemoveHolder(id);  // The entry goes with its last holder, as any other.
  EXPECT_FALSE(table_->Exists(id));
}

TEST_F(ObjectTableFreeTest, UnknownIdsAreNotFreed) {
  EXPECT_FALSE(table_->Free(Id(2)));
  EXPECT_FALSE(table_->Exists(Id(2)));
  EXPECT_FALSE(table_->IsFreed(Id(2)));
}

TEST_F(ObjectTableFreeTest, APendingObjectIsFreedAndItsLaterValueDropped) {
  ObjectID id = Id(3);
  table_->CreatePending(id);
  table_->AddHolder(id);
  int calls = 0;
  table_->OnReady(id, [&] { calls++; });
  EXPECT_TRUE(table_->Free(id));
  EXPECT_EQ(calls, 1) << "its waiter hears of the error";
  table_->Seal(id, InShm(id));  // The task's value, later: dropped as a second value.
  ExpectFreedError(id);
  EXPECT_EQ(table_->Stats().shm_bytes, 0u);
  table_->RemoveHolder(id);
  EXPECT_FALSE(table_->Exists(id));
}

TEST_F(ObjectTableFreeTest, ALostObjectIsFreedWithoutARebuild) {
  ObjectID id = Id(4);
  table_->AddHolder(id);
  table_->Seal(id, Inline("v"));
  ASSERT_TRUE(table_->DropCopies(id).value());
  EXPECT_TRUE(table_->Free(id));
  ExpectFreedError(id);
  int calls = 0;
  table_->OnReady(id, [&] { calls++; });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(lost_.empty());
}

TEST_F(ObjectTableFreeTest, AFreedValueLetsGoOfWhatItContained) {
  ObjectID inner = Id(5), outer = Id(6);
  table_->AddHolder(inner);
  table_->Seal(inner, InShm(inner));
  table_->AddHolder(outer);
  table_->Seal(outer, Inline("holds inner", {inner}));
  table_->RemoveHolder(inner);
  EXPECT_TRUE(table_->Free(outer));
  EXPECT_FALSE(table_->Exists(inner));
  EXPECT_FALSE(FileExists(inner));
  ExpectFreedError(outer);
}

TEST_F(ObjectTableFreeTest, FreeingASpilledObjectRemovesItsSpillFile) {
  table_.reset();
  std::string spill = dir_ + "/spill";
  ASSERT_EQ(mkdir(spill.c_str(), 0700), 0);
  table_ = std::make_unique<ObjectTable>(ObjectTableOptions{dir_, spill, 4096, nullptr});
  ObjectID first = Id(7), second = Id(8);
  table_->AddHolder(first);
  table_->Seal(first, InShm(first));
  table_->AddHolder(second);
  table_->Seal(second, InShm(second));  // Over capacity: the first is spilled (inline copy).
  ASSERT_EQ(table_->Stats().num_spilled, 1u);
  EXPECT_TRUE(table_->Free(first));
  EXPECT_TRUE(table_->Free(second));
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.num_spilled, 0u);
  EXPECT_EQ(stats.spilled_bytes, 0u);
  EXPECT_EQ(stats.shm_bytes, 0u);
  EXPECT_FALSE(FileExists(second));
  table_.reset();
  EXPECT_EQ(rmdir(spill.c_str()), 0) << "the spill file is gone";
}

TEST_F(ObjectTableFreeTest, ListReportsWhereEachValueIsAndWhatHoldsIt) {
  ObjectID shm = Id(9), small = Id(10), pending = Id(11), freed = Id(12);
  table_->AddHolder(shm);
  table_->Seal(shm, InShm(shm));
  table_->Pin(shm);
  table_->AddMapping(shm);
  table_->AddHolder(small);
  table_->Seal(small, Inline("12345", {shm}));
  table_->CreatePending(pending);
  table_->AddHolder(pending);
  table_->AddHolder(freed);
  table_->Seal(freed, Inline("v"));
  ASSERT_TRUE(table_->Free(freed));
  std::vector<ObjectEntryInfo> list = table_->List();
  ASSERT_EQ(list.size(), 4u);
  auto find = [&](const ObjectID& id) {
    for (const ObjectEntryInfo& info : list) {
      if (info.id == id) return info;
    }
    ADD_FAILURE() << "no entry for " << id.Hex();
    return ObjectEntryInfo();
  };
  ObjectEntryInfo info = find(shm);
  EXPECT_EQ(info.state, ObjectState::kInMemory);
  EXPECT_EQ(info.size, 4096u);
  EXPECT_EQ(info.holders, 1u);
  EXPECT_EQ(info.pins, 1u);
  EXPECT_EQ(info.mappings, 1u);
  EXPECT_EQ(info.contained_in, 1u);
  info = find(small);
  EXPECT_EQ(info.state, ObjectState::kInline);
  EXPECT_EQ(info.size, 5u);
  EXPECT_EQ(info.pins, 0u);
  EXPECT_EQ(find(pending).state, ObjectState::kPending);
  EXPECT_EQ(find(freed).state, ObjectState::kError);
  table_->Unpin(shm);
  table_->RemoveMapping(shm);
}

}  // namespace
}  // namespace rayx
