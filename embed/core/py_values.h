// Conversions between Python objects and the engine's values for the `_rayx` module: ids as
// bytes, values as (kind, data, buffers) triples, tasks as tuples, nodes as dicts, and the
// read-only Mapping type whose buffers view a shared-memory object without copying it.
//
// Every function here requires the GIL. Functions returning bool return false with a Python
// exception set; those returning PyObject* return null with one set.
#pragma once

#include <Python.h>

#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/client/client_types.h"

namespace rayx {

template <typename Id>
bool IdFromBytes(PyObject* obj, Id* out) {
  char* data;
  Py_ssize_t size;
  if (!PyBytes_Check(obj) || PyBytes_AsStringAndSize(obj, &data, &size) != 0 ||
      size != static_cast<Py_ssize_t>(Id::kSize)) {
    if (!PyErr_Occurred()) {
      PyErr_Format(PyExc_ValueError, "an id must be %d bytes", static_cast<int>(Id::kSize));
    }
    return false;
  }
  *out = Id::FromBinary(std::string_view(data, size));
  return true;
}

// A task's or actor's placement from scheduling_strategies.placement(): None, or a tuple
// (node id bytes or None, soft, spread).
bool PlacementFromObject(PyObject* obj, TaskSubmission* task);

bool IdsFromList(PyObject* list, std::vector<ObjectID>* out);
// A serialization's contained list holds object ids (ObjectRefs) and actor ids (actor handles),
// told apart by their sizes.
bool RefsFromList(PyObject* list, std::vector<ObjectID>* objects, std::vector<ActorID>* actors);
PyObject* IdToBytes(const ObjectID& id);
PyObject* IdsToList(const std::vector<ObjectID>& ids);

// Holds the Py_buffers of a value to store for as long as the engine reads them.
class OutgoingParts {
 public:
  OutgoingParts() = default;
  ~OutgoingParts();
  OutgoingParts(const OutgoingParts&) = delete;
  OutgoingParts& operator=(const OutgoingParts&) = delete;

  // data: bytes-like or str (a system error's text); buffers: a list of buffer objects;
  // contained: a list of ids.
  bool Fill(ValueKind kind, PyObject* data, PyObject* buffers, PyObject* contained);

  OutgoingValue value;

 private:
  std::vector<Py_buffer> views_;
};

// (kind, data, buffers): data and buffers are memoryviews over the received bytes or over a
// read-only shared-memory Mapping; a system error's data is a str. An inline value without
// buffers has its pickle as bytes (a copy as small as the value).
PyObject* ValueToTriple(IncomingValue value);

// The tuple worker_main expects from next_task (see module_tasks.cc).
PyObject* TaskToTuple(TaskToRun& task);

enum class InfoKind { kTotal, kAvailable, kNodes };
// A resources dict (kTotal, kAvailable: summed over live nodes) or a list of node dicts.
PyObject* NodesToPython(const std::vector<NodeDescription>& nodes, InfoKind kind);

// Adds the Mapping type to the module; 0 on success.
int RegisterMappingType(PyObject* module);

}  // namespace rayx
