// KeyValueStore: the ordered key-value storage under the lineage log. Two implementations: RocksDB
// (rocksdb_key_value_store.h), the real one, and an in-memory twin for tests
// (memory_key_value_store.h). One contract suite runs against both (lineage_store_test.cc).
//
// Thread-safe: implementations serialize their own access.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;

  // Writes every pair, all or none. With sync, the batch is on disk when this returns. The views
  // need only live until the call returns.
  virtual Status Write(const std::vector<std::pair<std::string_view, std::string_view>>& batch,
                       bool sync) = 0;
  // The value of key, or nullopt when there is none.
  virtual StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  // Calls visit for every key that starts with prefix, in key order, until it returns false.
  virtual Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
};

}  // namespace rayx
