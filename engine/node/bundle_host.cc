#include "engine/node/bundle_host.h"

namespace rayx {

bool BundleHost::Prepare(const NodeID& creator, const std::string& hex,
                         const std::vector<std::pair<int, ResourceSet>>& bundles) {
  std::vector<int> prepared;
  for (const auto& [index, amounts] : bundles) {
    if (held_.count({hex, index}) != 0 || !tasks_->PrepareBundle(hex, index, amounts)) {
      tasks_->ReturnBundles(hex, prepared);  // All or none.
      for (int done : prepared) held_.erase({hex, done});
      return false;
    }
    prepared.push_back(index);
    held_[{hex, index}] = Held{creator, false};
  }
  return true;
}

void BundleHost::Commit(const NodeID& creator, const std::string& hex,
                        const std::vector<int>& indexes) {
  std::vector<int> mine;
  for (int index : indexes) {
    auto it = held_.find({hex, index});
    if (it == held_.end() || it->second.creator != creator || it->second.committed) continue;
    it->second.committed = true;
    mine.push_back(index);
  }
  if (!mine.empty()) tasks_->CommitBundles(hex, mine);
}

void BundleHost::Return(const NodeID& creator, const std::string& hex,
                        const std::vector<int>& indexes, const std::string& why, bool end_work) {
  std::vector<int> mine;
  bool committed = false;
  for (int index : indexes) {
    auto it = held_.find({hex, index});
    if (it == held_.end() || it->second.creator != creator) continue;
    committed = committed || it->second.committed;
    mine.push_back(index);
    held_.erase(it);
  }
  if (committed && end_work) {
    // The work first, so that no task of the group starts on what is given back.
    actors_->KillPlacementGroupActors(hex, why);
    tasks_->FailGroupWork(hex, why);
  }
  if (!mine.empty()) tasks_->ReturnBundles(hex, mine);
}

void BundleHost::OnCreatorGone(const NodeID& creator, const std::string& why) {
  std::map<std::string, std::vector<int>> groups;
  for (const auto& [key, held] : held_) {
    if (held.creator == creator) groups[key.first].push_back(key.second);
  }
  for (const auto& [hex, indexes] : groups) Return(creator, hex, indexes, why);
}

}  // namespace rayx
