#include "embed/core/py_values.h"

#include <algorithm>

#include "embed/core/entry.h"
#include "engine/objects/object_format.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

// A read-only view of a shared-memory object; memoryviews of it keep the mapping alive.
struct MappingObject {
  PyObject_HEAD std::shared_ptr<MappedRegion>* region;
};

int MappingGetBuffer(PyObject* self, Py_buffer* view, int flags) {
  auto* m = reinterpret_cast<MappingObject*>(self);
  return PyBuffer_FillInfo(view, self, (*m->region)->data(),
                           static_cast<Py_ssize_t>((*m->region)->size()),
                           /*readonly=*/1, flags);
}

void MappingDealloc(PyObject* self) {
  auto* m = reinterpret_cast<MappingObject*>(self);
  delete m->region;
  Py_TYPE(self)->tp_free(self);
}

PyBufferProcs kMappingBuffer = {MappingGetBuffer, nullptr};

PyTypeObject MappingType = [] {
  PyTypeObject t = {PyVarObject_HEAD_INIT(nullptr, 0)};
  t.tp_name = "_rayx.Mapping";
  t.tp_basicsize = sizeof(MappingObject);
  t.tp_dealloc = MappingDealloc;
  t.tp_as_buffer = &kMappingBuffer;
  t.tp_flags = Py_TPFLAGS_DEFAULT;
  t.tp_doc = "A read-only mapping of a shared-memory object.";
  return t;
}();

PyObject* Slice(PyObject* memory, const uint8_t* base, ByteSpan span) {
  Py_ssize_t start = span.data - base;
  // PySlice_New takes new references of its bounds: ours are dropped after (leaking them cost an
  // int per buffer of every shared-memory value read, found by the soak).
  PyObject* from = PyLong_FromSsize_t(start);
  PyObject* to = PyLong_FromSsize_t(start + static_cast<Py_ssize_t>(span.size));
  PyObject* slice = from != nullptr && to != nullptr ? PySlice_New(from, to, nullptr) : nullptr;
  Py_XDECREF(from);
  Py_XDECREF(to);
  if (slice == nullptr) return nullptr;
  PyObject* out = PyObject_GetItem(memory, slice);
  Py_DECREF(slice);
  return out;
}

}  // namespace

bool IdsFromList(PyObject* list, std::vector<ObjectID>* out) {
  PyObject* seq = PySequence_Fast(list, "ids must be a list of bytes");
  if (seq == nullptr) return false;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  out->reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    ObjectID id;
    if (!IdFromBytes(PySequence_Fast_GET_ITEM(seq, i), &id)) {
      Py_DECREF(seq);
      return false;
    }
    out->push_back(id);
  }
  Py_DECREF(seq);
  return true;
}

bool RefsFromList(PyObject* list, std::vector<ObjectID>* objects, std::vector<ActorID>* actors) {
  PyObject* seq = PySequence_Fast(list, "contained ids must be a list of bytes");
  if (seq == nullptr) return false;
  bool ok = true;
  for (Py_ssize_t i = 0; ok && i < PySequence_Fast_GET_SIZE(seq); ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq, i);
    if (PyBytes_Check(item) && PyBytes_GET_SIZE(item) == static_cast<Py_ssize_t>(ActorID::kSize)) {
      actors->emplace_back();
      ok = IdFromBytes(item, &actors->back());
    } else {
      objects->emplace_back();
      ok = IdFromBytes(item, &objects->back());
    }
  }
  Py_DECREF(seq);
  return ok;
}

PyObject* IdToBytes(const ObjectID& id) {
  return PyBytes_FromStringAndSize(id.Binary().data(), ObjectID::kSize);
}

PyObject* IdsToList(const std::vector<ObjectID>& ids) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(ids.size()));
  for (size_t i = 0; i < ids.size(); ++i)
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), IdToBytes(ids[i]));
  return list;
}

OutgoingParts::~OutgoingParts() {
  for (Py_buffer& view : views_) PyBuffer_Release(&view);
}

bool OutgoingParts::Fill(ValueKind kind, PyObject* data, PyObject* buffers, PyObject* contained) {
  value.kind = kind;
  PyObject* seq = PySequence_Fast(buffers, "buffers must be a list");
  if (seq == nullptr) return false;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  views_.reserve(static_cast<size_t>(n) + 1);
  auto take = [this](PyObject* obj, ByteSpan* span) {
    if (PyUnicode_Check(obj)) {
      Py_ssize_t size;
      const char* text = PyUnicode_AsUTF8AndSize(obj, &size);
      if (text == nullptr) return false;
      *span = ByteSpan{reinterpret_cast<const uint8_t*>(text), static_cast<size_t>(size)};
      return true;
    }
    views_.emplace_back();
    if (PyObject_GetBuffer(obj, &views_.back(), PyBUF_C_CONTIGUOUS) != 0) {
      views_.pop_back();
      return false;
    }
    *span = ByteSpan{static_cast<const uint8_t*>(views_.back().buf),
                     static_cast<size_t>(views_.back().len)};
    return true;
  };
  bool ok = take(data, &value.data);
  for (Py_ssize_t i = 0; ok && i < n; ++i) {
    value.buffers.emplace_back();
    ok = take(PySequence_Fast_GET_ITEM(seq, i), &value.buffers.back());
  }
  Py_DECREF(seq);
  return ok && RefsFromList(contained, &value.contained, &value.contained_actors);
}

PyObject* ValueToTriple(IncomingValue value) {
  int kind = static_cast<int>(value.kind);
  if (value.kind == ValueKind::kSystemError) {
    PyObject* text = PyUnicode_DecodeUTF8(
        value.inline_data.data(), static_cast<Py_ssize_t>(value.inline_data.size()), "replace");
    return Py_BuildValue("(iN[])", kind, text);
  }
  if (value.mapping == nullptr) {
    // An inline value without out-of-band buffers (the common small value): its pickle is
    // copied into a bytes object of its own, with no owner, memoryview or slice to build.
    auto parsed = ParseObject(reinterpret_cast<const uint8_t*>(value.inline_data.data()),
                              value.inline_data.size());
    if (!parsed.ok()) return RaiseStatus(parsed.status());
    if (parsed->buffers.empty()) {
      PyObject* triple = PyTuple_New(3);
      PyObject* data = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(parsed->data.data),
                                                 static_cast<Py_ssize_t>(parsed->data.size));
      PyObject* buffers = PyList_New(0);
      PyObject* kind_obj = PyLong_FromLong(kind);
      if (triple == nullptr || data == nullptr || buffers == nullptr || kind_obj == nullptr) {
        Py_XDECREF(triple);
        Py_XDECREF(data);
        Py_XDECREF(buffers);
        Py_XDECREF(kind_obj);
        return nullptr;
      }
      PyTuple_SET_ITEM(triple, 0, kind_obj);
      PyTuple_SET_ITEM(triple, 1, data);
      PyTuple_SET_ITEM(triple, 2, buffers);
      return triple;
    }
  }
  PyObject* owner;
  const uint8_t* base;
  size_t size;
  if (value.mapping != nullptr) {
    auto* m = PyObject_New(MappingObject, &MappingType);
    if (m == nullptr) return nullptr;
    m->region = new std::shared_ptr<MappedRegion>(value.mapping);
    owner = reinterpret_cast<PyObject*>(m);
    base = value.mapping->data();
    size = value.mapping->size();
  } else {
    owner = PyBytes_FromStringAndSize(value.inline_data.data(),
                                      static_cast<Py_ssize_t>(value.inline_data.size()));
    if (owner == nullptr) return nullptr;
    base = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(owner));
    size = value.inline_data.size();
  }
  auto parsed = ParseObject(base, size);
  if (!parsed.ok()) {
    Py_DECREF(owner);
    return RaiseStatus(parsed.status());
  }
  PyObject* memory = PyMemoryView_FromObject(owner);
  Py_DECREF(owner);
  if (memory == nullptr) return nullptr;
  PyObject* data = Slice(memory, base, parsed->data);
  PyObject* buffers = PyList_New(static_cast<Py_ssize_t>(parsed->buffers.size()));
  for (size_t i = 0; data != nullptr && buffers != nullptr && i < parsed->buffers.size(); ++i) {
    PyObject* b = Slice(memory, base, parsed->buffers[i]);
    if (b == nullptr) {
      Py_CLEAR(buffers);
      break;
    }
    PyList_SET_ITEM(buffers, static_cast<Py_ssize_t>(i), b);
  }
  Py_DECREF(memory);
  if (data == nullptr || buffers == nullptr) {
    Py_XDECREF(data);
    Py_XDECREF(buffers);
    return nullptr;
  }
  return Py_BuildValue("(iNN)", kind, data, buffers);
}

namespace {

// A dict {name: amount} of a task's resources. Tasks mostly ask for the same few shapes, so the
// dict of the last shape is kept and shared (the Python side copies it before handing it out).
PyObject* ResourcesDict(const std::vector<std::pair<std::string_view, double>>& resources) {
  static std::vector<std::pair<std::string, double>> last_shape;  // Guarded by the GIL.
  static PyObject* last_dict = nullptr;
  bool same = last_dict != nullptr && last_shape.size() == resources.size();
  for (size_t i = 0; same && i < resources.size(); ++i) {
    same = last_shape[i].first == resources[i].first && last_shape[i].second == resources[i].second;
  }
  if (same) return Py_NewRef(last_dict);
  PyObject* dict = PyDict_New();
  if (dict == nullptr) return nullptr;
  for (const auto& [name, amount] : resources) {
    PyObject* key = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    PyObject* value = key == nullptr ? nullptr : PyFloat_FromDouble(amount);
    int set = value == nullptr ? -1 : PyDict_SetItem(dict, key, value);
    Py_XDECREF(key);
    Py_XDECREF(value);
    if (set != 0) {
      Py_DECREF(dict);
      return nullptr;
    }
  }
  Py_XSETREF(last_dict, Py_NewRef(dict));
  last_shape.assign(resources.begin(), resources.end());
  return dict;
}

}  // namespace

PyObject* TaskToTuple(TaskToRun& task) {
  PyObject* deps = PyList_New(static_cast<Py_ssize_t>(task.dependency_values.size()));
  if (deps == nullptr) return nullptr;
  for (size_t i = 0; i < task.dependency_values.size(); ++i) {
    PyObject* triple = ValueToTriple(std::move(task.dependency_values[i]));
    if (triple == nullptr) {
      Py_DECREF(deps);
      return nullptr;
    }
    PyList_SET_ITEM(deps, static_cast<Py_ssize_t>(i), triple);
  }
  PyObject* blob = task.has_function_blob ? PyBytes_FromStringAndSize(
                                                task.function_blob.data(),
                                                static_cast<Py_ssize_t>(task.function_blob.size()))
                                          : Py_NewRef(Py_None);
  PyObject* gpu_ids = PyList_New(static_cast<Py_ssize_t>(task.gpu_ids.size()));
  for (size_t i = 0; gpu_ids != nullptr && i < task.gpu_ids.size(); ++i) {
    PyObject* n = PyLong_FromLong(task.gpu_ids[i]);
    if (n == nullptr) {
      Py_CLEAR(gpu_ids);
      break;
    }
    PyList_SET_ITEM(gpu_ids, static_cast<Py_ssize_t>(i), n);
  }
  auto bytes = [](std::string_view v) {
    return PyBytes_FromStringAndSize(v.data(), static_cast<Py_ssize_t>(v.size()));
  };
  auto text = [](std::string_view v) {
    return PyUnicode_FromStringAndSize(v.data(), static_cast<Py_ssize_t>(v.size()));
  };
  // The tuple is built item by item: Py_BuildValue's format parsing costs more than the items.
  PyObject* items[] = {
      PyBytes_FromStringAndSize(task.task_id.Binary().data(),
                                static_cast<Py_ssize_t>(TaskID::kSize)),
      bytes(task.function_id),
      blob,
      text(task.name),
      bytes(task.args),
      deps,
      IdsToList(task.returns),
      PyLong_FromLong(task.retries_left),
      gpu_ids,
      PyBool_FromLong(task.actor_creation),
      text(task.method),
      PyLong_FromLong(task.max_concurrency),
      PyBool_FromLong(task.cancelled),
      PyLong_FromUnsignedLong(task.attempt),
      ResourcesDict(task.resources),
  };
  constexpr Py_ssize_t kItems = sizeof(items) / sizeof(items[0]);
  PyObject* tuple = PyTuple_New(kItems);
  bool ok = tuple != nullptr;
  for (PyObject* item : items) ok = ok && item != nullptr;
  if (!ok) {
    Py_XDECREF(tuple);
    for (PyObject* item : items) Py_XDECREF(item);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < kItems; ++i) PyTuple_SET_ITEM(tuple, i, items[i]);
  return tuple;
}

namespace {

// Adds amounts to the dict into, summing what is there already; false with an exception set.
bool AddAmounts(const std::map<std::string, double>& amounts, PyObject* into) {
  for (const auto& [name, amount] : amounts) {
    PyObject* key = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    if (key == nullptr) return false;
    PyObject* old = PyDict_GetItemWithError(into, key);
    double sum = amount + (old != nullptr ? PyFloat_AsDouble(old) : 0.0);
    PyObject* value = PyErr_Occurred() ? nullptr : PyFloat_FromDouble(sum);
    int failed = value == nullptr || PyDict_SetItem(into, key, value) != 0;
    Py_DECREF(key);
    Py_XDECREF(value);
    if (failed) return false;
  }
  return true;
}

}  // namespace

PyObject* NodesToPython(const std::vector<NodeDescription>& nodes, InfoKind kind) {
  if (kind != InfoKind::kNodes) {
    PyObject* out = PyDict_New();
    for (const NodeDescription& node : nodes) {
      if (out == nullptr) break;
      if (node.alive && !AddAmounts(kind == InfoKind::kTotal ? node.total : node.available, out)) {
        Py_CLEAR(out);
      }
    }
    return out;
  }
  PyObject* list = PyList_New(0);
  for (const NodeDescription& node : nodes) {
    if (list == nullptr) break;
    PyObject* resources = PyDict_New();
    if (resources == nullptr || !AddAmounts(node.total, resources)) {
      Py_XDECREF(resources);
      Py_CLEAR(list);
      break;
    }
    PyObject* alive = node.alive ? Py_True : Py_False;
    PyObject* d = Py_BuildValue("{s:s,s:O,s:O,s:N,s:s}", "NodeID", node.id.Hex().c_str(), "Alive",
                                alive, "alive", alive, "Resources", resources, "NodeManagerAddress",
                                node.address.c_str());
    if (d == nullptr || PyList_Append(list, d) != 0) Py_CLEAR(list);
    Py_XDECREF(d);
  }
  return list;
}

int RegisterMappingType(PyObject* module) {
  if (PyType_Ready(&MappingType) < 0) return -1;
  Py_INCREF(&MappingType);
  return PyModule_AddObject(module, "Mapping", reinterpret_cast<PyObject*>(&MappingType));
}

bool PlacementFromObject(PyObject* obj, TaskSubmission* task) {
  if (obj == Py_None) return true;
  if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != 3) {
    PyErr_SetString(PyExc_TypeError, "a placement is None or (node_id, soft, spread)");
    return false;
  }
  PyObject* node = PyTuple_GET_ITEM(obj, 0);
  if (node != Py_None && !IdFromBytes(node, &task->affinity_node)) return false;
  int soft = PyObject_IsTrue(PyTuple_GET_ITEM(obj, 1));
  int spread = PyObject_IsTrue(PyTuple_GET_ITEM(obj, 2));
  if (soft < 0 || spread < 0) return false;
  task->affinity_soft = soft;
  task->spread = spread;
  return true;
}

}  // namespace rayx
