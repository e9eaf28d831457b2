// What the node's object table knows of one object, as it lists it for
// ray._private.internal_api.memory_summary (ObjectTable::List, wire::ObjectList). Shared by the
// node and its clients.
//
// Thread-safe: plain values.
#pragma once

#include <cstdint>

#include "engine/base/ids.h"

namespace rayx {

// Where an object's value is, as ObjectTable::List reports it. The numbers travel in
// wire::ObjectList's states.
enum class ObjectState : uint8_t {
  kPending = 0,   // Not ready: its task has not finished.
  kInline = 1,    // Ready; its bytes are in the table.
  kInMemory = 2,  // Ready; in a shared-memory file (or being spilled).
  kSpilled = 3,   // Ready; only in its spill file (or being restored).
  kRemote = 4,    // Ready; only on another node (or being fetched).
  kError = 5,     // Ready with an error value (a task's or the system's, such as OBJECT_FREED).
  kLost = 6,      // Its copies were dropped and nothing asked for it since.
};

// One entry of the table (ObjectTable::List): what the node knows of an object.
struct ObjectEntryInfo {
  ObjectID id;
  uint64_t size = 0;  // Bytes of its value: shared memory, spill file or inline.
  ObjectState state = ObjectState::kPending;
  uint32_t holders = 0;       // Processes holding a reference.
  uint32_t pins = 0;          // Queued or running tasks that take it, and gets in flight.
  uint32_t mappings = 0;      // Processes that map its file.
  uint32_t contained_in = 0;  // Live values that hold a reference to it.
};

}  // namespace rayx
