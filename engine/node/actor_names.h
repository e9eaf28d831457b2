// ActorNames: the names of named actors, each unique within its namespace.
//
// Thread: any single thread (the node's loop thread in practice); no locking.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"

namespace rayx {

class ActorNames {
 public:
  // Gives name in ns to id. AlreadyExists if another actor has it; InvalidArgument for an empty
  // name.
  Status Register(const std::string& ns, const std::string& name, const ActorID& id);
  // The actor that has the name, if any.
  std::optional<ActorID> Lookup(const std::string& ns, const std::string& name) const;
  // Frees the name if id has it (a dead actor's name can be taken again).
  void Release(const std::string& ns, const std::string& name, const ActorID& id);
  // The (namespace, name) pairs given now: those in ns, or with all_namespaces every one; sorted by
  // namespace, then name.
  std::vector<std::pair<std::string, std::string>> List(const std::string& ns,
                                                        bool all_namespaces) const;
  size_t size() const { return names_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, ActorID> names_;
};

}  // namespace rayx
