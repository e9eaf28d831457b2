#include "storage/rocksdb_key_value_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace rayx {

namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsNoSpace()) return OutOfMemory(what + ": " + s.ToString());
  if (s.IsCorruption()) return ProtocolError(what + ": " + s.ToString());
  return IoError(what + ": " + s.ToString());
}

class RocksDbKeyValueStore : public KeyValueStore {
 public:
  RocksDbKeyValueStore(std::unique_ptr<rocksdb::DB> db, bool read_only)
      : db_(std::move(db)), read_only_(read_only) {}

  Status Write(const std::vector<std::pair<std::string_view, std::string_view>>& batch,
               bool sync) override {
    if (read_only_) return FailedPrecondition("the lineage log was opened to read only");
    rocksdb::WriteBatch writes;
    for (const auto& [key, value] : batch) {
      writes.Put(rocksdb::Slice(key.data(), key.size()),
                 rocksdb::Slice(value.data(), value.size()));
    }
    rocksdb::WriteOptions options;
    options.sync = sync;
    return FromRocks(db_->Write(options, &writes), "write to the lineage log");
  }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RAYX_RETURN_IF_ERROR(FromRocks(s, "read the lineage log"));
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
      rocksdb::Slice key = it->key();
      if (!key.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
      rocksdb::Slice value = it->value();
      if (!visit(std::string_view(key.data(), key.size()),
                 std::string_view(value.data(), value.size()))) {
        break;
      }
    }
    return FromRocks(it->status(), "scan the lineage log");
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  bool read_only_;
};

}  // namespace

StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStore(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  // The log's keys arrive in random order (task ids are hashes) and its writer seldom reads: a
  // vector memtable appends each write and sorts once at flush, where the default skiplist paid
  // most of the writer's time finding each key's place. Readers open with their own options.
  options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  options.allow_concurrent_memtable_write = false;
  // The memtables live in the process that logs (the driver, which holds the node): two of 8 MiB
  // bound that, where RocksDB's default of 64 MiB each showed as the driver's memory growing by as
  // much during the first minutes of a long job (soak_test).
  options.write_buffer_size = 8u << 20;
  options.max_write_buffer_number = 2;
  // A long job's log grows by thousands of tables; RocksDB keeps each open, with its index and
  // filter in memory, by default. An hour-long soak showed both: 32 more descriptors and the
  // driver's memory still rising. A bounded set of open tables, whose index and filter blocks
  // live in the (bounded) block cache, keeps both flat however long the log.
  options.max_open_files = 64;
  rocksdb::BlockBasedTableOptions table;
  table.cache_index_and_filter_blocks = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The writer's CPU is the node's cost (two cores, shared with the tasks): no compression (the
  // records are small and mostly ids and hashes, which do not compress), and the flush and
  // compaction threads at the lowest priority, as the writer thread is niced.
  options.compression = rocksdb::kNoCompression;
  static const bool lowered = [] {
    rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH);
    rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
    return true;
  }();
  (void)lowered;
  rocksdb::DB* db = nullptr;
  RAYX_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, path, &db), "open the lineage log " + path));
  return std::unique_ptr<KeyValueStore>(
      new RocksDbKeyValueStore(std::unique_ptr<rocksdb::DB>(db), /*read_only=*/false));
}

StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStoreReadOnly(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = false;
  options.info_log_level = rocksdb::InfoLogLevel::HEADER_LEVEL;
  rocksdb::DB* db = nullptr;
  RAYX_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::OpenForReadOnly(options, path, &db), "open the lineage log " + path));
  return std::unique_ptr<KeyValueStore>(
      new RocksDbKeyValueStore(std::unique_ptr<rocksdb::DB>(db), /*read_only=*/true));
}

}  // namespace rayx
