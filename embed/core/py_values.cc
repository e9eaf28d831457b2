#include "embed/core/py_values.h"

#include <algorithm>

#include "engine/objects/object_format.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {

// A read-only view of a shared-memory object; memoryviews of it keep the mapping alive.
struct MappingObject {
  PyObject_HEAD
  std::shared_ptr<MappedRegion>* region;
};

int MappingGetBuffer(PyObject* self, Py_buffer* view, int flags) {
  auto* m = reinterpret_cast<MappingObject*>(self);
  return PyBuffer_FillInfo(view, self, (*m->region)->data(), static_cast<Py_ssize_t>((*m->region)->size()),
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
  PyObject* slice = PySlice_New(PyLong_FromSsize_t(start), PyLong_FromSsize_t(start + span.size), nullptr);
  if (slice == nullptr) return nullptr;
  PyObject* out = PyObject_GetItem(memory, slice);
  Py_DECREF(slice);
  return out;
}

PyObject* ValueFromWire(CoreWorker* core, const wire::ObjectValue* value) {
  auto in = core->ReadValue(value, /*report_mapped=*/true);
  if (!in.ok()) {
    PyErr_SetString(PyExc_RuntimeError, in.status().ToString().c_str());
    return nullptr;
  }
  return ValueToTriple(std::move(in).value());
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
  for (size_t i = 0; i < ids.size(); ++i) PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), IdToBytes(ids[i]));
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
    *span = ByteSpan{static_cast<const uint8_t*>(views_.back().buf), static_cast<size_t>(views_.back().len)};
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
    PyObject* text = PyUnicode_DecodeUTF8(value.inline_data.data(),
                                          static_cast<Py_ssize_t>(value.inline_data.size()), "replace");
    return Py_BuildValue("(iN[])", kind, text);
  }
  if (value.mapping == nullptr) {
    // An inline value without out-of-band buffers (the common small value): its pickle is
    // copied into a bytes object of its own, with no owner, memoryview or slice to build.
    auto parsed = ParseObject(reinterpret_cast<const uint8_t*>(value.inline_data.data()),
                              value.inline_data.size());
    if (!parsed.ok()) {
      PyErr_SetString(PyExc_RuntimeError, parsed.status().ToString().c_str());
      return nullptr;
    }
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
    owner = PyBytes_FromStringAndSize(value.inline_data.data(), static_cast<Py_ssize_t>(value.inline_data.size()));
    if (owner == nullptr) return nullptr;
    base = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(owner));
    size = value.inline_data.size();
  }
  auto parsed = ParseObject(base, size);
  if (!parsed.ok()) {
    Py_DECREF(owner);
    PyErr_SetString(PyExc_RuntimeError, parsed.status().ToString().c_str());
    return nullptr;
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

PyObject* ExecuteTaskToTuple(CoreWorker* core, const std::string& frame) {
  // Verified when it arrived (NodeConnection verifies every frame it routes): not again here.
  const wire::ExecuteTask* task = wire::GetEnvelope(frame.data())->message_as_ExecuteTask();
  if (task == nullptr || task->spec() == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "malformed ExecuteTask from the node");
    return nullptr;
  }
  const wire::TaskSpec* spec = task->spec();
  auto task_id = UnpackId<TaskID>(spec->task_id());
  if (!task_id.ok()) {
    PyErr_SetString(PyExc_RuntimeError, task_id.status().ToString().c_str());
    return nullptr;
  }
  core->SetCurrentTask(*task_id, spec->depth(), static_cast<uint32_t>(std::max(0, task->retries_left())));
  std::vector<ObjectID> returns;
  for (uint32_t i = 0; i < spec->num_returns(); ++i) returns.push_back(ObjectID::ForReturn(*task_id, i));
  PyObject* deps = PyList_New(0);
  if (task->dependency_values() != nullptr) {
    for (const auto* value : *task->dependency_values()) {
      PyObject* triple = ValueFromWire(core, value);
      if (triple == nullptr) {
        Py_DECREF(deps);
        return nullptr;
      }
      PyList_Append(deps, triple);
      Py_DECREF(triple);
    }
  }
  PyObject* blob;
  if (task->function_blob() != nullptr) {
    std::string_view b = BytesOf(task->function_blob());
    blob = PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size()));
  } else {
    blob = Py_NewRef(Py_None);
  }
  PyObject* gpu_ids = PyList_New(0);
  if (task->gpu_ids() != nullptr) {
    for (int id : *task->gpu_ids()) {
      PyObject* n = PyLong_FromLong(id);
      PyList_Append(gpu_ids, n);
      Py_DECREF(n);
    }
  }
  std::string_view function_id = BytesOf(spec->function_id());
  std::string_view args = BytesOf(spec->args());
  std::string name = StringOf(spec->name());
  std::string method = StringOf(spec->method());
  // The tuple is built item by item: Py_BuildValue's format parsing costs more than the items.
  PyObject* items[] = {
      PyBytes_FromStringAndSize(task_id->Binary().data(), static_cast<Py_ssize_t>(TaskID::kSize)),
      PyBytes_FromStringAndSize(function_id.data(), static_cast<Py_ssize_t>(function_id.size())),
      blob,
      PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size())),
      PyBytes_FromStringAndSize(args.data(), static_cast<Py_ssize_t>(args.size())),
      deps,
      IdsToList(returns),
      PyLong_FromLong(task->retries_left()),
      gpu_ids,
      PyBool_FromLong(spec->actor_creation()),
      PyUnicode_FromStringAndSize(method.data(), static_cast<Py_ssize_t>(method.size())),
      PyLong_FromLong(spec->max_concurrency()),
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

PyObject* NodeInfoQuery(CoreWorker* core, InfoKind kind) {
  if (core == nullptr) return nullptr;
  StatusOr<std::string> frame = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  frame = core->Info();
  Py_END_ALLOW_THREADS
  if (!frame.ok()) {
    PyErr_SetString(PyExc_RuntimeError, frame.status().ToString().c_str());
    return nullptr;
  }
  auto envelope = ParseEnvelope(*frame);
  const wire::InfoReply* reply = envelope.ok() ? (*envelope)->message_as_InfoReply() : nullptr;
  if (reply == nullptr || reply->nodes() == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "malformed InfoReply from the node");
    return nullptr;
  }
  auto to_dict = [](const flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>* amounts,
                    PyObject* into) {
    if (amounts == nullptr) return;
    for (const auto* a : *amounts) {
      std::string name = StringOf(a->name());
      PyObject* key = PyUnicode_FromString(name.c_str());
      PyObject* old = PyDict_GetItem(into, key);
      PyObject* v = PyFloat_FromDouble(a->amount() + (old ? PyFloat_AsDouble(old) : 0.0));
      PyDict_SetItem(into, key, v);
      Py_DECREF(key);
      Py_DECREF(v);
    }
  };
  if (kind != InfoKind::kNodes) {
    PyObject* out = PyDict_New();
    for (const auto* node : *reply->nodes()) {
      if (node->alive()) to_dict(kind == InfoKind::kTotal ? node->total() : node->available(), out);
    }
    return out;
  }
  PyObject* list = PyList_New(0);
  for (const auto* node : *reply->nodes()) {
    auto id = UnpackId<NodeID>(node->node_id());
    PyObject* resources = PyDict_New();
    to_dict(node->total(), resources);
    std::string address = StringOf(node->address());
    PyObject* d = Py_BuildValue("{s:s,s:O,s:O,s:N,s:s}", "NodeID", id.ok() ? id->Hex().c_str() : "",
                                "Alive", node->alive() ? Py_True : Py_False, "alive",
                                node->alive() ? Py_True : Py_False, "Resources", resources,
                                "NodeManagerAddress", address.c_str());
    PyList_Append(list, d);
    Py_DECREF(d);
  }
  return list;
}

int RegisterMappingType(PyObject* module) {
  if (PyType_Ready(&MappingType) < 0) return -1;
  Py_INCREF(&MappingType);
  return PyModule_AddObject(module, "Mapping", reinterpret_cast<PyObject*>(&MappingType));
}

}  // namespace rayx
