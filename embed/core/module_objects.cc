// `_rayx` entry points: puts, gets, waits, references and the object store's figures.
#include <memory>
#include <vector>

#include "embed/core/entry.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_args.h"
#include "embed/core/py_values.h"

namespace rayx {
namespace {

PyObject* Put(PyObject*, PyObject* args) {
  PyObject *data, *buffers, *contained;
  if (!PyArg_ParseTuple(args, "OOO", &data, &buffers, &contained)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  OutgoingParts parts;
  if (!parts.Fill(ValueKind::kValue, data, buffers, contained)) return nullptr;
  StatusOr<ObjectID> id = WithoutGil([&] { return runtime->Put(parts.value); });
  if (!id.ok()) return RaiseStatus(id.status());
  return IdToBytes(*id);
}

PyObject* Get(PyObject*, PyObject* args) {
  PyObject *ids_obj, *timeout;
  if (!PyArg_ParseTuple(args, "OO", &ids_obj, &timeout)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  std::vector<ObjectID> ids;
  int64_t timeout_ms;
  if (runtime == nullptr || !IdsFromList(ids_obj, &ids) || !TimeoutMs(timeout, &timeout_ms)) {
    return nullptr;
  }
  bool timed_out = false;
  auto values = WithoutGil([&] { return runtime->Get(ids, timeout_ms, &timed_out); });
  if (!values.ok()) return RaiseStatus(values.status());
  if (timed_out) return RaiseStatus(TimedOut("get timed out"));
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(values->size()));
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < values->size(); ++i) {
    PyObject* triple = ValueToTriple(std::move((*values)[i]));
    if (triple == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), triple);
  }
  return list;
}

PyObject* Wait(PyObject*, PyObject* args) {
  PyObject *ids_obj, *timeout;
  unsigned int num_returns;
  int fetch_local;
  int unknown_pending = 0;
  if (!PyArg_ParseTuple(args, "OIOp|p", &ids_obj, &num_returns, &timeout, &fetch_local,
                        &unknown_pending)) {
    return nullptr;
  }
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  std::vector<ObjectID> ids;
  int64_t timeout_ms;
  if (runtime == nullptr || !IdsFromList(ids_obj, &ids) || !TimeoutMs(timeout, &timeout_ms)) {
    return nullptr;
  }
  auto ready =
      WithoutGil([&] { return runtime->Wait(ids, num_returns, timeout_ms, unknown_pending != 0); });
  if (!ready.ok()) return RaiseStatus(ready.status());
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(ready->size()));
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < ready->size(); ++i) {
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), PyBool_FromLong((*ready)[i]));
  }
  return list;
}

// Reference counts keep the GIL: they never wait for the node.
PyObject* AddRef(PyObject*, PyObject* arg) {
  ObjectID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (ClientRuntime* runtime = CurrentRuntime()) runtime->AddRef(id);
  Py_RETURN_NONE;
}

PyObject* RemoveRef(PyObject*, PyObject* arg) {
  ObjectID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (ClientRuntime* runtime = CurrentRuntime()) runtime->RemoveRef(id);
  Py_RETURN_NONE;
}

PyObject* ObjectStoreStats(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  StatusOr<StoreStats> stats = WithoutGil([&] { return runtime->ObjectStoreStats(); });
  if (!stats.ok()) return RaiseStatus(stats.status());
  const StoreStats& s = *stats;
  return Py_BuildValue(
      "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:s,s:s,s:K,s:K}", "capacity", s.capacity, "used",
      s.used, "num_objects", s.num_objects, "num_in_memory", s.num_in_memory, "num_spilled",
      s.num_spilled, "spilled_bytes", s.spilled_bytes, "spill_count", s.spill_count,
      "spill_bytes_total", s.spill_bytes_total, "restore_count", s.restore_count,
      "restore_bytes_total", s.restore_bytes_total, "store_dir", s.store_dir.c_str(), "spill_dir",
      s.spill_dir.c_str(), "lineage_tasks", s.lineage_tasks, "rebuilt_tasks", s.rebuilt_tasks);
}

// Tests only (rayx._private.internal_api.drop_object_copies).
PyObject* DropObjectCopies(PyObject*, PyObject* ids_obj) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  std::vector<ObjectID> ids;
  if (runtime == nullptr || !IdsFromList(ids_obj, &ids)) return nullptr;
  StatusOr<uint32_t> dropped = WithoutGil([&] { return runtime->DropObjectCopies(ids); });
  if (!dropped.ok()) return RaiseStatus(dropped.status());
  return PyLong_FromUnsignedLong(*dropped);
}

// ray._private.internal_api.free.
PyObject* FreeObjects(PyObject*, PyObject* ids_obj) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  std::vector<ObjectID> ids;
  if (runtime == nullptr || !IdsFromList(ids_obj, &ids)) return nullptr;
  StatusOr<uint32_t> freed = WithoutGil([&] { return runtime->FreeObjects(ids); });
  if (!freed.ok()) return RaiseStatus(freed.status());
  return PyLong_FromUnsignedLong(*freed);
}

// ray._private.internal_api.memory_summary: (entries, truncated), each entry a tuple
// (id bytes, size, state, holders, pins, mappings, contained_in), state one of ObjectState's names.
PyObject* ListObjects(PyObject*, PyObject*) {
  static constexpr const char* kStates[] = {"PENDING", "INLINE", "IN_MEMORY", "SPILLED",
                                            "REMOTE",  "ERROR",  "LOST"};
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  StatusOr<ObjectListing> listing = WithoutGil([&] { return runtime->ListObjects(); });
  if (!listing.ok()) return RaiseStatus(listing.status());
  PyObject* entries = PyList_New(0);
  if (entries == nullptr) return nullptr;
  for (const ObjectEntryInfo& info : listing->objects) {
    PyObject* entry = Py_BuildValue("(y#KsIIII)", reinterpret_cast<const char*>(info.id.data()),
                                    static_cast<Py_ssize_t>(ObjectID::kSize),
                                    static_cast<unsigned long long>(info.size),
                                    kStates[static_cast<size_t>(info.state)], info.holders,
                                    info.pins, info.mappings, info.contained_in);
    if (entry == nullptr || PyList_Append(entries, entry) != 0) {
      Py_XDECREF(entry);
      Py_DECREF(entries);
      return nullptr;
    }
    Py_DECREF(entry);
  }
  PyObject* result =
      Py_BuildValue("(OK)", entries, static_cast<unsigned long long>(listing->truncated));
  Py_DECREF(entries);
  return result;
}

}  // namespace

void AddObjectMethods(std::vector<PyMethodDef>* methods) {
  methods->insert(
      methods->end(),
      {
          {"put", Entry<Put>, METH_VARARGS, "put(data, buffers, contained) -> object id"},
          {"get", Entry<Get>, METH_VARARGS, "get(ids, timeout) -> [(kind, data, buffers)]"},
          {"wait", Entry<Wait>, METH_VARARGS,
           "wait(ids, num_returns, timeout, fetch_local, unknown_pending=False) -> [ready]; "
           "unknown_pending: an id the node does not know is waited for (a generator's item)"},
          {"add_ref", Entry<AddRef>, METH_O, "This process holds one more reference to the id."},
          {"remove_ref", Entry<RemoveRef>, METH_O,
           "This process holds one reference fewer to the id."},
          {"object_store_stats", Entry<ObjectStoreStats>, METH_NOARGS,
           "The node's object store figures (a dict)."},
          {"free_objects", Entry<FreeObjects>, METH_O,
           "free_objects(ids) -> how many the node freed (ray._private.internal_api.free)."},
          {"list_objects", Entry<ListObjects>, METH_NOARGS,
           "list_objects() -> ([(id, size, state, holders, pins, mappings, contained_in)], "
           "truncated): the node's object table (memory_summary)."},
          {"drop_object_copies", Entry<DropObjectCopies>, METH_O,
           "drop_object_copies(ids) -> how many had a copy (tests: as if their node died)."},
      });
}

}  // namespace rayx
