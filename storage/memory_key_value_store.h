// An in-memory KeyValueStore: the test twin of the RocksDB store. Nothing survives the object.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "storage/key_value_store.h"

namespace rayx {

class MemoryKeyValueStore : public KeyValueStore {
 public:
  Status Write(const std::vector<std::pair<std::string_view, std::string_view>>& batch,
               bool sync) override;
  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& visit) override;

 private:
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;  // GUARDED_BY(mu_)
};

}  // namespace rayx
