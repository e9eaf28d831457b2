#include "storage/rocksdb_key_value_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "engine/base/logging.h"

namespace rayx {

namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsNoSpace()) return OutOfMemory(what + ": " + s.ToString());
  if (s.IsCorruption()) return ProtocolError(what + ": " + s.ToString());
  return IoError(what + ": " + s.ToString());
}

// RocksDB's own log, its warnings and errors only, into the process's log; by default RocksDB
// writes a LOG file beside the database. That file cost the log's start a file and its syncs, and,
// on a full disk, crashed the process: Debian's librocksdb keeps its assertions, and the LOG writer
// asserts on its next line after a failed write. A full disk makes RocksDB say the same every few
// seconds: at most kLinesPerMinute lines a minute are passed on.
class WarningLogger : public rocksdb::Logger {
 public:
  explicit WarningLogger(std::string path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), path_(std::move(path)) {}

  void LogHeader(const char*, va_list) override {}
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    // HEADER_LEVEL ranks above the others but is only the banner RocksDB writes at each start.
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char line[512];
    int n = std::vsnprintf(line, sizeof(line), format, ap);
    if (n < 0) return;  // A format it could not write out.
    for (n = std::min<int>(n, sizeof(line) - 1); n > 0 && line[n - 1] == '\n'; --n) line[n - 1] = 0;
    std::lock_guard<std::mutex> lock(mu_);  // RocksDB's threads log too.
    auto now = std::chrono::steady_clock::now();
    if (now - minute_start_ >= std::chrono::minutes(1)) {
      minute_start_ = now;
      lines_this_minute_ = 0;
    }
    if (++lines_this_minute_ > kLinesPerMinute) return;
    try {  // Nothing may be thrown into RocksDB.
      RAYX_LOG(Warning) << "RocksDB, for the lineage log " << path_ << ": " << line;
    } catch (...) {
    }
  }

 private:
  static constexpr int kLinesPerMinute = 5;
  const std::string path_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point minute_start_;  // GUARDED_BY(mu_)
  int lines_this_minute_ = 0;                           // GUARDED_BY(mu_)
};

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
  options.info_log = std::make_shared<WarningLogger>(path);
  static const bool lowered = [] {
    rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH);
    rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
    return true;
  }();
  (void)lowered;
  // Made here, RocksDB does not warn of the folder it did not find; if it fails, Open says why.
  (void)mkdir(path.c_str(), 0700);
  rocksdb::DB* db = nullptr;
  RAYX_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, path, &db), "open the lineage log " + path));
  return std::unique_ptr<KeyValueStore>(
      new RocksDbKeyValueStore(std::unique_ptr<rocksdb::DB>(db), /*read_only=*/false));
}

StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStoreReadOnly(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = false;
  options.info_log = std::make_shared<WarningLogger>(path);
  rocksdb::DB* db = nullptr;
  RAYX_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::OpenForReadOnly(options, path, &db), "open the lineage log " + path));
  return std::unique_ptr<KeyValueStore>(
      new RocksDbKeyValueStore(std::unique_ptr<rocksdb::DB>(db), /*read_only=*/true));
}

}  // namespace rayx
