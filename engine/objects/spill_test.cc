// The object table's capacity, spilling and restoring, with real files and a real IoPool whose
// completions the test runs as the node's loop would.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "engine/objects/io_pool.h"
#include "engine/objects/object_table.h"
#include "engine/objects/shm_file.h"

namespace rayx {
namespace {

constexpr size_t kSize = 1 << 20;

int CountFiles(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

void RemoveDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      unlink((dir + "/" + e->d_name).c_str());
    }
  }
  closedir(d);
  rmdir(dir.c_str());
}

class SpillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char store[] = "/tmp/rayx-spill-store-XXXXXX";
    char spill[] = "/tmp/rayx-spill-disk-XXXXXX";
    ASSERT_NE(mkdtemp(store), nullptr);
    ASSERT_NE(mkdtemp(spill), nullptr);
    store_ = store;
    spill_ = spill;
    pool_ = std::make_unique<IoPool>(2, [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mu_);
      posted_.push_back(std::move(fn));
    });
  }
  void TearDown() override {
    table_.reset();
    pool_.reset();
    RemoveDir(store_);
    RemoveDir(spill_);
  }

  // The pool's threads post under mu_ (a data race under TSan when read without it).
  bool NothingPosted() {
    std::lock_guard<std::mutex> lock(mu_);
    return posted_.empty();
  }

  void MakeTable(uint64_t capacity, std::string spill_dir = "") {
    table_ = std::make_unique<ObjectTable>(
        ObjectTableOptions{store_, spill_dir.empty() ? spill_ : spill_dir, capacity, pool_.get()});
  }

  // Runs posted completions on this thread (the "loop") until pred holds; false after 10 s.
  template <typename Pred>
  bool RunUntil(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      std::deque<std::function<void()>> batch;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(posted_);
      }
      for (auto& fn : batch) fn();
      if (batch.empty()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return true;
  }

  ObjectID Id(uint32_t i) { return ObjectID::ForReturn(TaskID::ForDriver(JobID::FromInt(1)), i); }

  // A held shared-memory object of kSize bytes, every byte `fill`.
  void Put(const ObjectID& id, uint8_t fill) {
    auto region = CreateObjectFile(table_->PathOf(id), kSize);
    ASSERT_TRUE(region.ok()) << region.status();
    std::memset(region->data(), fill, kSize);
    StoredValue v;
    v.in_shm = true;
    v.shm_size = kSize;
    table_->AddHolder(id);
    table_->Seal(id, std::move(v));
  }

  bool InMemory(const ObjectID& id) { return access(table_->PathOf(id).c_str(), F_OK) == 0; }

  uint8_t FirstAndLastByte(const ObjectID& id) {
    auto region = MapObjectFile(table_->PathOf(id));
    EXPECT_TRUE(region.ok()) << region.status();
    if (!region.ok()) return 0;
    EXPECT_EQ(region->data()[0], region->data()[kSize - 1]);
    return region->data()[0];
  }

  std::string store_, spill_;
  std::mutex mu_;
  std::deque<std::function<void()>> posted_;
  std::unique_ptr<IoPool> pool_;
  std::unique_ptr<ObjectTable> table_;
};

TEST_F(SpillTest, SpillsTheLeastRecentlyUsedObjectWhenOverCapacity) {
  MakeTable(2 * kSize);
  Put(Id(0), 10);
  Put(Id(1), 11);
  table_->Touch(Id(0));  // Id(1) is now the least recently used.
  Put(Id(2), 12);
  ASSERT_TRUE(RunUntil([&] { return table_->Stats().spill_count == 1; }));
  EXPECT_FALSE(InMemory(Id(1)));
  EXPECT_TRUE(InMemory(Id(0)));
  EXPECT_TRUE(InMemory(Id(2)));
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.shm_bytes, 2 * kSize);
  EXPECT_EQ(stats.spilled_bytes, kSize);
  EXPECT_EQ(stats.num_spilled, 1u);
  EXPECT_EQ(CountFiles(spill_), 1);
  EXPECT_TRUE(table_->IsReady(Id(1)));
  EXPECT_FALSE(table_->IsAvailable(Id(1)));
}

TEST_F(SpillTest, ASpilledObjectIsRestoredIntactOnDemandAndAnotherMakesRoom) {
  MakeTable(2 * kSize);
  for (uint32_t i = 0; i < 3; ++i) Put(Id(i), static_cast<uint8_t>(20 + i));
  ASSERT_TRUE(RunUntil([&] { return table_->Stats().spill_count == 1; }));
  ASSERT_FALSE(InMemory(Id(0)));
  table_->Pin(Id(0));  // As a get does.
  bool available = false;
  table_->OnAvailable(Id(0), [&] { available = true; });
  ASSERT_TRUE(RunUntil([&] { return available && table_->Stats().spill_count == 2; }));
  EXPECT_TRUE(table_->IsAvailable(Id(0)));
  EXPECT_EQ(FirstAndLastByte(Id(0)), 20);
  EXPECT_EQ(table_->Stats().restore_count, 1u);
  EXPECT_FALSE(InMemory(Id(1))) << "the least recently used object made room";
  EXPECT_EQ(table_->Stats().shm_bytes, 2 * kSize);
  // Spilled again later, it reuses its spill file: no new write.
  table_->Unpin(Id(0));
  table_->Touch(Id(2));
  Put(Id(3), 23);
  ASSERT_TRUE(RunUntil([&] { return !InMemory(Id(0)); }));
  EXPECT_EQ(table_->Stats().spill_count, 2u) << "Id(0) went back to its spill file without a write";
}

TEST_F(SpillTest, FreeingObjectsRemovesTheirSpillFiles) {
  MakeTable(kSize);
  for (uint32_t i = 0; i < 4; ++i) Put(Id(i), static_cast<uint8_t>(i));
  ASSERT_TRUE(RunUntil([&] { return table_->Stats().spill_count == 3; }));
  EXPECT_EQ(CountFiles(spill_), 3);
  for (uint32_t i = 0; i < 4; ++i) table_->RemoveHolder(Id(i));
  EXPECT_EQ(CountFiles(spill_), 0);
  EXPECT_EQ(CountFiles(store_), 0);
  ObjectStoreStats stats = table_->Stats();
  EXPECT_EQ(stats.shm_bytes, 0u);
  EXPECT_EQ(stats.spilled_bytes, 0u);
  EXPECT_EQ(stats.num_objects, 0u);
}

TEST_F(SpillTest, AnObjectFreedWhileSpillingLeavesNoFile) {
  MakeTable(kSize);
  Put(Id(0), 1);
  Put(Id(1), 2);  // Starts spilling Id(0).
  table_->RemoveHolder(Id(0));
  table_->RemoveHolder(Id(1));
  ASSERT_TRUE(RunUntil([&] { return table_->Stats().shm_bytes == 0 && NothingPosted(); }));
  pool_.reset();  // Joins: every spill has finished.
  RunUntil([&] { return NothingPosted(); });
  EXPECT_EQ(CountFiles(spill_), 0);
  EXPECT_EQ(CountFiles(store_), 0);
}

TEST_F(SpillTest, PinnedAndMappedObjectsStayInMemory) {
  MakeTable(kSize);
  Put(Id(0), 1);
  table_->Pin(Id(0));  // A queued task's argument.
  Put(Id(1), 2);
  table_->AddMapping(Id(1));  // A process views it.
  Put(Id(2), 3);
  Status room = Internal("not called");
  table_->OnRoom([&](Status s) { room = s; });
  ASSERT_TRUE(RunUntil([&] { return room.ok(); }));
  EXPECT_TRUE(InMemory(Id(0)));
  EXPECT_TRUE(InMemory(Id(1)));
  EXPECT_FALSE(InMemory(Id(2)));
  EXPECT_EQ(table_->Stats().shm_bytes, 2 * kSize) << "over capacity by what is in use, not stuck";
  // A mapping holds the object even after its last reference goes.
  table_->RemoveHolder(Id(1));
  EXPECT_TRUE(table_->IsReady(Id(1)));
  table_->RemoveMapping(Id(1));
  EXPECT_FALSE(table_->Exists(Id(1)));
  table_->Unpin(Id(0));
  EXPECT_EQ(table_->Stats().shm_bytes, kSize);
}

TEST_F(SpillTest, WhenSpillingFailsAWaitingPutHearsOutOfMemory) {
  MakeTable(kSize, "/nonexistent/rayx-spill");
  Put(Id(0), 1);
  Put(Id(1), 2);
  Status room;
  bool called = false;
  table_->OnRoom([&](Status s) {
    room = s;
    called = true;
  });
  ASSERT_TRUE(RunUntil([&] { return called; }));
  EXPECT_EQ(room.code(), StatusCode::kOutOfMemory) << room;
  EXPECT_TRUE(InMemory(Id(0)));
  EXPECT_TRUE(InMemory(Id(1)));
  // Freeing makes room again.
  table_->RemoveHolder(Id(1));
  called = false;
  table_->OnRoom([&](Status s) {
    room = s;
    called = true;
  });
  EXPECT_TRUE(called);
  EXPECT_TRUE(room.ok());
}

TEST_F(SpillTest, ARestoreThatFailsBecomesAnErrorValue) {
  MakeTable(kSize);
  Put(Id(0), 1);
  Put(Id(1), 2);
  ASSERT_TRUE(RunUntil([&] { return table_->Stats().spill_count == 1; }));
  RemoveDir(spill_);  // The spill file is lost.
  bool available = false;
  table_->Pin(Id(0));
  table_->OnAvailable(Id(0), [&] { available = true; });
  ASSERT_TRUE(RunUntil([&] { return available; }));
  const StoredValue* v = table_->Get(Id(0));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->kind, ValueKind::kSystemError);
  EXPECT_EQ(v->inline_data.rfind("OBJECT_LOST: ", 0), 0u) << v->inline_data;
}

}  // namespace
}  // namespace rayx
