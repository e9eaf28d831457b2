// A gtest fixture for ObjectTable tests: a table over a fresh temporary directory, and values to
// seal into it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/objects/object_table.h"
#include "engine/objects/shm_file.h"

namespace rayx {

class ObjectTableFixture : public ::testing::Test {
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

  // A 4 KiB shared-memory value, its file made under the table's directory.
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

}  // namespace rayx
