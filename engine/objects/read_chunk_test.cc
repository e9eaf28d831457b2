#include "engine/objects/read_chunk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "engine/objects/shm_file.h"

namespace rayx {
namespace {

constexpr size_t kSize = 10000;

class ReadChunkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-read-chunk-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    spill_ = dir_ + "/spill";
    ASSERT_EQ(mkdir(spill_.c_str(), 0700), 0);
    // Room for one object: a second one spills the first.
    table_ = std::make_unique<ObjectTable>(ObjectTableOptions{dir_, spill_, kSize, nullptr});
    for (size_t i = 0; i < kSize; ++i) bytes_.push_back(static_cast<char>(i * 7 + i / 256));
  }
  void TearDown() override {
    table_.reset();
    EXPECT_EQ(rmdir(spill_.c_str()), 0);
    EXPECT_EQ(rmdir(dir_.c_str()), 0);
  }

  ObjectID Id(uint32_t i) { return ObjectID::ForReturn(TaskID::ForDriver(JobID::FromInt(1)), i); }

  // A held object in shared memory holding bytes_, its size said to be shm_size.
  void Put(const ObjectID& id, uint64_t shm_size = kSize) {
    auto region = CreateObjectFile(table_->PathOf(id), kSize);
    ASSERT_TRUE(region.ok()) << region.status();
    std::memcpy(region->data(), bytes_.data(), kSize);
    StoredValue v;
    v.in_shm = true;
    v.shm_size = shm_size;
    table_->AddHolder(id);
    table_->Seal(id, std::move(v));
  }

  StatusOr<ObjectChunkData> Read(const ObjectID& id, uint64_t offset, uint32_t length) {
    return ReadObjectChunk(*table_, id, offset, length, /*max_length=*/4096);
  }

  std::string dir_, spill_, bytes_;
  std::unique_ptr<ObjectTable> table_;
};

TEST_F(ReadChunkTest, ReadsARangeOfAnObjectInMemory) {
  ObjectID id = Id(0);
  Put(id);
  auto chunk = Read(id, 100, 1000);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(chunk->total_size, kSize);
  EXPECT_TRUE(chunk->data == bytes_.substr(100, 1000));
  chunk = Read(id, 0, 100000);
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->data.size(), 4096u) << "at most max_length";
  chunk = Read(id, kSize - 10, 4096);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->data == bytes_.substr(kSize - 10)) << "fewer at the end";
  chunk = Read(id, kSize, 4096);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->data.empty());
  EXPECT_EQ(Read(id, kSize + 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(id, ~0ull, 4096).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(table_->IsAvailable(id)) << "unpinned and still there";
}

TEST_F(ReadChunkTest, ReadsASpilledObjectFromItsSpillFile) {
  ObjectID spilled = Id(1), second = Id(2);
  Put(spilled);
  Put(second);
  ASSERT_EQ(table_->Stats().num_spilled, 1u);
  ASSERT_FALSE(table_->IsAvailable(spilled));
  auto chunk = Read(spilled, 5000, 4096);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->data == bytes_.substr(5000, 4096));
  EXPECT_EQ(table_->Stats().restore_count, 0u) << "not restored to be read";
}

TEST_F(ReadChunkTest, AnObjectNotStoredHereIsAnError) {
  ObjectID pending = Id(3), lost = Id(4), remote = Id(5), inline_id = Id(6);
  EXPECT_EQ(Read(Id(9), 0, 10).status().code(), StatusCode::kNotFound) << "unknown";
  EXPECT_FALSE(table_->Exists(Id(9)));
  table_->CreatePending(pending);
  table_->AddHolder(pending);
  EXPECT_EQ(Read(pending, 0, 10).status().code(), StatusCode::kNotFound);
  Put(lost);
  ASSERT_TRUE(table_->DropCopies(lost).value());
  EXPECT_EQ(Read(lost, 0, 10).status().code(), StatusCode::kNotFound);
  StoredValue v;
  v.shm_size = kSize;
  table_->AddHolder(remote);
  table_->SealRemote(remote, v, NodeID::FromRandom());
  EXPECT_EQ(Read(remote, 0, 10).status().code(), StatusCode::kNotFound);
  table_->AddHolder(inline_id);
  table_->Seal(inline_id, StoredValue{ValueKind::kValue, "small"});
  EXPECT_EQ(Read(inline_id, 0, 10).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ReadChunkTest, AFileShorterThanItsObjectIsAnError) {
  ObjectID id = Id(7);
  Put(id, kSize + 100);  // The table says more than the file holds.
  EXPECT_EQ(Read(id, kSize - 50, 4096).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace rayx
