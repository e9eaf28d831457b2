// Value I/O: how a process writes the values it stores and reads the ones it is sent. A value up
// to kInlineThreshold travels inline inside the message; a larger one is written once to a
// shared-memory file in the session directory (under a temporary name, then renamed, so readers
// never see part of it) and read back as a read-only mapping. A mapped object is pinned in the
// node's memory: the node is told when this process stops mapping it (and, for a task's
// arguments, when it starts), by a MappingReporter that every mapping shares, since a mapping (a
// numpy array) may outlive the connection.
//
// Private to the client runtime: its interface uses the generated wire types.
// Thread-safe.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/node_connection.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

class MappingReporter {
 public:
  explicit MappingReporter(NodeConnection* connection) : connection_(connection), pid_(getpid()) {}
  // Does nothing in a forked child, whose mappings are its own and whose socket is its parent's.
  void Report(const ObjectID& id, bool mapped);
  void Detach();  // The connection is going: later reports are dropped.

 private:
  std::mutex mu_;
  NodeConnection* connection_;  // GUARDED_BY(mu_)
  const pid_t pid_;             // The process that owns the connection.
};

class ValueIo {
 public:
  // shared_store false: the node's memory is not this process's (a driver attached over TCP):
  // every value goes inline, one over kMaxInlineValueSize is refused, and nothing is mapped.
  ValueIo(std::string session_dir, NodeConnection* connection, bool shared_store = true);
  ~ValueIo();  // Detaches the reporter: mappings that outlive this report nothing.
  ValueIo(const ValueIo&) = delete;
  ValueIo& operator=(const ValueIo&) = delete;

  // Adds value to b as object id, inline or after writing its shared-memory file; *in_shm (if
  // given) says which. A system error is its text ("CODE: message") and always inline.
  StatusOr<flatbuffers::Offset<wire::ObjectValue>> Build(flatbuffers::FlatBufferBuilder& b,
                                                         const ObjectID& id,
                                                         const OutgoingValue& value,
                                                         bool* in_shm = nullptr) const;
  // An inline value's bytes as they travel (object_format.h), for a copy kept in memory.
  static flatbuffers::Offset<wire::ObjectValue> BuildInline(flatbuffers::FlatBufferBuilder& b,
                                                            const ObjectID& id, ValueKind kind,
                                                            std::string_view data);
  // Reads a value that arrived inside a message. A shared-memory value is mapped; the node is told
  // when the mapping goes. report_mapped: tell the node of the mapping too (a task's arguments;
  // the node counts the mappings of its get replies itself).
  StatusOr<IncomingValue> Read(const wire::ObjectValue* value, bool report_mapped) const;
  // Gives back the mapping the node counted for a shared-memory value of a get reply that is not
  // read after all.
  void Unmapped(const wire::ObjectValue* value) const;

 private:
  const std::string session_dir_;
  const bool shared_store_;
  const std::shared_ptr<MappingReporter> reporter_;
};

}  // namespace rayx
