#include "engine/node/actor_names.h"

namespace rayx {

Status ActorNames::Register(const std::string& ns, const std::string& name, const ActorID& id) {
  if (name.empty()) return InvalidArgument("an actor name must not be empty");
  auto [it, inserted] = names_.emplace(std::make_pair(ns, name), id);
  if (!inserted && it->second != id) {
    return AlreadyExists("an actor named '" + name + "' already exists in namespace '" + ns + "'");
  }
  return Status::OK();
}

std::optional<ActorID> ActorNames::Lookup(const std::string& ns, const std::string& name) const {
  auto it = names_.find(std::make_pair(ns, name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void ActorNames::Release(const std::string& ns, const std::string& name, const ActorID& id) {
  auto it = names_.find(std::make_pair(ns, name));
  if (it != names_.end() && it->second == id) names_.erase(it);
}

std::vector<std::pair<std::string, std::string>> ActorNames::List(const std::string& ns,
                                                                  bool all_namespaces) const {
  std::vector<std::pair<std::string, std::string>> out;
  // The map is ordered by (namespace, name): one namespace's names are one range of it.
  auto it = all_namespaces ? names_.begin() : names_.lower_bound(std::make_pair(ns, std::string()));
  for (; it != names_.end(); ++it) {
    if (!all_namespaces && it->first.first != ns) break;
    out.push_back(it->first);
  }
  return out;
}

}  // namespace rayx
