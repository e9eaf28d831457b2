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

}  // namespace rayx
