#include "storage/memory_key_value_store.h"

namespace rayx {

Status MemoryKeyValueStore::Write(
    const std::vector<std::pair<std::string_view, std::string_view>>& batch, bool /*sync*/) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, value] : batch)
    data_.insert_or_assign(std::string(key), std::string(value));
  return Status::OK();
}

StatusOr<std::optional<std::string>> MemoryKeyValueStore::Get(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryKeyValueStore::Scan(
    std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = data_.lower_bound(prefix); it != data_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!visit(it->first, it->second)) break;
  }
  return Status::OK();
}

}  // namespace rayx
