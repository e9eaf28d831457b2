// The `_rayx` extension module: the Python package's bridge to the engine.
//
// Every function here converts Python arguments, releases the GIL while it waits on the engine,
// and turns a failed Status into a Python exception in one place (RaiseStatus). Python code never
// runs on a node's loop thread: the embedded node (start_node) runs on its own thread, and the
// process talks to it over its socket like any other client.
#include "embed/core/module.h"

#include <pthread.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "embed/core/core_worker.h"
#include "embed/core/py_values.h"
#include "engine/node/node.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

PyObject* g_engine_error = nullptr;  // _rayx.EngineError, a RuntimeError.
std::unique_ptr<Node> g_node;        // The node embedded in this process, if any.
std::unique_ptr<CoreWorker> g_core;  // This process's connection to its node.
std::mutex g_mu;                     // Guards g_node and g_core against concurrent (dis)connects.

// The one place where a Status becomes a Python exception.
PyObject* RaiseStatus(const Status& status) {
  // A wait given up for a signal: the signal's handler raised already (KeyboardInterrupt).
  if (PyErr_Occurred()) return nullptr;
  if (status.code() == StatusCode::kTimedOut) {
    PyErr_SetString(PyExc_TimeoutError, status.message().c_str());
  } else if (status.code() == StatusCode::kInvalidArgument) {
    PyErr_SetString(PyExc_ValueError, status.message().c_str());
  } else if (status.code() == StatusCode::kOutOfMemory) {
    // The object store and the disk are full: rayx.exceptions.ObjectStoreFullError.
    std::string message = status.message();
    const std::string prefix = "OBJECT_STORE_FULL: ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    PyObject* module = PyImport_ImportModule("rayx.exceptions");
    PyObject* cls = module ? PyObject_GetAttrString(module, "ObjectStoreFullError") : nullptr;
    Py_XDECREF(module);
    if (cls == nullptr) return nullptr;
    PyErr_SetString(cls, message.c_str());
    Py_DECREF(cls);
  } else {
    PyErr_SetString(g_engine_error, status.ToString().c_str());
  }
  return nullptr;
}

// Runs Python's signal handlers (in the main thread; elsewhere it does nothing) for a thread that
// waits on the node with the GIL released: true when a handler raised, e.g. KeyboardInterrupt on
// Ctrl-C. The exception stays set on the waiting thread, which returns it to Python.
bool PythonSignalPending() {
  PyGILState_STATE gil = PyGILState_Ensure();
  bool raised = PyErr_CheckSignals() != 0;
  PyGILState_Release(gil);
  return raised;
}

// Set in a child process forked from a rayx process (os.fork, multiprocessing's "fork").
bool g_forked_child = false;

// The child of a fork shares its parent's socket to the node and has none of its threads: it
// must neither write to that socket (its frames would interleave with the parent's), nor shut
// it down, nor wait for the node's thread. So it forgets the connection and the node without
// destroying them (that would do all three), and rayx calls in it fail with a clear error. It
// does close its copies of the connection's sockets: a direct link that a worker's child kept open
// would hide that worker's death from the owner waiting on the link.
void ForgetEngineInForkedChild() {
  g_forked_child = true;
  if (g_core != nullptr) g_core->AbandonInForkedChild();  // Its sockets' copies: closed.
  (void)g_core.release();
  (void)g_node.release();
}

CoreWorker* Core() {
  if (g_core == nullptr) {
    PyErr_SetString(g_engine_error,
                    g_forked_child
                        ? "rayx cannot be used in a process forked from a rayx driver or worker; "
                          "start such processes with multiprocessing's 'spawn' method"
                        : "rayx is not connected to a node (call rayx.init() first)");
  }
  return g_core.get();
}

int64_t TimeoutMs(PyObject* timeout) {
  if (timeout == Py_None) return -1;
  double seconds = PyFloat_AsDouble(timeout);
  if (seconds < 0) return 0;
  return static_cast<int64_t>(std::ceil(seconds * 1000));
}

PyObject* StartNode(PyObject*, PyObject* args) {
  double num_cpus, num_gpus;
  PyObject* resources;
  unsigned long long object_store_memory;
  if (!PyArg_ParseTuple(args, "ddO!K", &num_cpus, &num_gpus, &PyDict_Type, &resources,
                        &object_store_memory)) {
    return nullptr;
  }
  NodeOptions options;
  options.num_cpus = num_cpus;
  options.num_gpus = num_gpus;
  options.object_store_memory = object_store_memory;
  options.executable = "/proc/self/exe";
  options.prestart_workers = static_cast<size_t>(std::min(num_cpus, 8.0));
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(resources, &pos, &key, &value)) {
    const char* name = PyUnicode_AsUTF8(key);
    double amount = PyFloat_AsDouble(value);
    if (name == nullptr || PyErr_Occurred()) return nullptr;
    options.resources[name] = amount;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_node != nullptr) return RaiseStatus(FailedPrecondition("a node already runs in this process"));
  StatusOr<std::unique_ptr<Node>> node = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  node = Node::Start(options);
  Py_END_ALLOW_THREADS
  if (!node.ok()) return RaiseStatus(node.status());
  g_node = std::move(node).value();
  return PyUnicode_FromString(g_node->socket_path().c_str());
}

PyObject* StopNode(PyObject*, PyObject*) {
  if (g_forked_child) Py_RETURN_NONE;  // The node is the parent's (see ForgetEngineInForkedChild).
  std::unique_ptr<Node> node;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    node = std::move(g_node);
  }
  Py_BEGIN_ALLOW_THREADS
  node.reset();
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

PyObject* WelcomeDict(const CoreWorker& core) {
  const WelcomeInfo& w = core.welcome();
  return Py_BuildValue("{s:y#,s:y#,s:y#}", "job_id", w.job_id.Binary().data(),
                       (Py_ssize_t)JobID::kSize, "node_id", w.node_id.Binary().data(),
                       (Py_ssize_t)NodeID::kSize, "worker_id", w.worker_id.Binary().data(),
                       (Py_ssize_t)WorkerID::kSize);
}

PyObject* ConnectAs(const std::string& path, wire::Role role, const WorkerID& worker_id) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_core != nullptr) return RaiseStatus(FailedPrecondition("already connected to a node"));
  StatusOr<std::unique_ptr<CoreWorker>> core = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  core = CoreWorker::Connect(path, role, worker_id);
  Py_END_ALLOW_THREADS
  if (!core.ok()) return RaiseStatus(core.status());
  g_core = std::move(core).value();
  g_core->SetInterruptCheck(PythonSignalPending);
  return WelcomeDict(*g_core);
}

PyObject* Connect(PyObject*, PyObject* args) {
  const char* path;
  if (!PyArg_ParseTuple(args, "s", &path)) return nullptr;
  return ConnectAs(path, wire::Role::Driver, WorkerID());
}

PyObject* Disconnect(PyObject*, PyObject*) {
  if (g_forked_child) Py_RETURN_NONE;  // The connection is the parent's.
  std::unique_ptr<CoreWorker> core;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    core = std::move(g_core);
  }
  Py_BEGIN_ALLOW_THREADS
  core.reset();
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

PyObject* IsConnected(PyObject*, PyObject*) { return PyBool_FromLong(g_core != nullptr); }

PyObject* Put(PyObject*, PyObject* args) {
  PyObject *data, *buffers, *contained;
  if (!PyArg_ParseTuple(args, "OOO", &data, &buffers, &contained)) return nullptr;
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  OutgoingParts parts;
  if (!parts.Fill(ValueKind::kValue, data, buffers, contained)) return nullptr;
  StatusOr<ObjectID> id = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  id = core->Put(parts.value);
  Py_END_ALLOW_THREADS
  if (!id.ok()) return RaiseStatus(id.status());
  return IdToBytes(*id);
}

PyObject* Get(PyObject*, PyObject* args) {
  PyObject *ids_obj, *timeout;
  if (!PyArg_ParseTuple(args, "OO", &ids_obj, &timeout)) return nullptr;
  CoreWorker* core = Core();
  std::vector<ObjectID> ids;
  if (core == nullptr || !IdsFromList(ids_obj, &ids)) return nullptr;
  int64_t timeout_ms = TimeoutMs(timeout);
  StatusOr<std::vector<IncomingValue>> values = Status::OK();
  bool timed_out = false;
  Py_BEGIN_ALLOW_THREADS
  values = core->Get(ids, timeout_ms, &timed_out);
  Py_END_ALLOW_THREADS
  if (!values.ok()) return RaiseStatus(values.status());
  if (timed_out) {
    PyErr_SetString(PyExc_TimeoutError, "get timed out");
    return nullptr;
  }
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(values->size()));
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
  if (!PyArg_ParseTuple(args, "OIOp", &ids_obj, &num_returns, &timeout, &fetch_local)) return nullptr;
  CoreWorker* core = Core();
  std::vector<ObjectID> ids;
  if (core == nullptr || !IdsFromList(ids_obj, &ids)) return nullptr;
  int64_t timeout_ms = TimeoutMs(timeout);
  StatusOr<std::vector<bool>> ready = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  ready = core->Wait(ids, num_returns, timeout_ms);
  Py_END_ALLOW_THREADS
  if (!ready.ok()) return RaiseStatus(ready.status());
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(ready->size()));
  for (size_t i = 0; i < ready->size(); ++i) {
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), PyBool_FromLong((*ready)[i]));
  }
  return list;
}

PyObject* AddRef(PyObject*, PyObject* arg) {
  ObjectID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (g_core != nullptr) g_core->AddRef(id);
  Py_RETURN_NONE;
}

PyObject* RemoveRef(PyObject*, PyObject* arg) {
  ObjectID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (g_core != nullptr) g_core->RemoveRef(id);
  Py_RETURN_NONE;
}

PyObject* ExportFunction(PyObject*, PyObject* args) {
  Py_buffer id, blob;
  if (!PyArg_ParseTuple(args, "y*y*", &id, &blob)) return nullptr;
  CoreWorker* core = Core();
  Status status = Status::OK();
  if (core != nullptr) {
    status = core->ExportFunction(std::string(static_cast<const char*>(id.buf), id.len),
                                  ByteSpan{static_cast<const uint8_t*>(blob.buf), static_cast<size_t>(blob.len)});
  }
  PyBuffer_Release(&id);
  PyBuffer_Release(&blob);
  if (core == nullptr) return nullptr;
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

bool ResourcesFromDict(PyObject* dict, std::map<std::string, double>* out);

// A bytes-like argument: borrowed from a bytes object, or held through the buffer protocol.
class BytesArg {
 public:
  BytesArg() { view_.obj = nullptr; }
  ~BytesArg() {
    if (view_.obj != nullptr) PyBuffer_Release(&view_);
  }
  BytesArg(const BytesArg&) = delete;
  BytesArg& operator=(const BytesArg&) = delete;

  // False with TypeError set when obj is not bytes-like.
  bool Parse(PyObject* obj) {
    if (PyBytes_Check(obj)) {
      data_ = PyBytes_AS_STRING(obj);
      size_ = PyBytes_GET_SIZE(obj);
      return true;
    }
    if (PyUnicode_Check(obj) || PyObject_GetBuffer(obj, &view_, PyBUF_SIMPLE) != 0) {
      if (!PyErr_Occurred() || PyUnicode_Check(obj)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "a bytes-like object is required, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
      }
      return false;
    }
    data_ = static_cast<const char*>(view_.buf);
    size_ = view_.len;
    return true;
  }
  const char* data() const { return data_; }
  size_t size() const { return static_cast<size_t>(size_); }

 private:
  Py_buffer view_;
  const char* data_ = nullptr;
  Py_ssize_t size_ = 0;
};

// A str argument as UTF-8 without NUL characters (as PyArg_ParseTuple's "s"); null on error.
const char* StringArg(PyObject* obj, Py_ssize_t* size) {
  if (!PyUnicode_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "a str is required, not '%.100s'", Py_TYPE(obj)->tp_name);
    return nullptr;
  }
  const char* text = PyUnicode_AsUTF8AndSize(obj, size);
  if (text != nullptr && strlen(text) != static_cast<size_t>(*size)) {
    PyErr_SetString(PyExc_ValueError, "embedded null character");
    return nullptr;
  }
  return text;
}

// An int argument that fits a C int (as PyArg_ParseTuple's "i"); false on error.
bool IntArg(PyObject* obj, int* out) {
  long value = PyLong_AsLong(obj);
  if (value == -1 && PyErr_Occurred()) return false;
  if (value < INT_MIN || value > INT_MAX) {
    PyErr_SetString(PyExc_OverflowError, "signed integer is out of range for a C int");
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

// submit_task(function_id, name, args_blob, arg_buffers, dependencies, contained, num_returns,
// resources, max_retries, retry_exceptions). Called once per task: its arguments are converted
// by hand (METH_FASTCALL), without an argument tuple or a format string to interpret.
PyObject* SubmitTask(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 10) {
    PyErr_Format(PyExc_TypeError, "submit_task takes 10 arguments (%zd given)", nargs);
    return nullptr;
  }
  BytesArg function_id, args_blob;
  Py_ssize_t name_size;
  const char* name;
  PyObject *arg_buffers = args[3], *dependencies = args[4], *contained = args[5];
  PyObject* resources = args[7];
  int max_retries, retry_exceptions;
  if (!function_id.Parse(args[0]) || (name = StringArg(args[1], &name_size)) == nullptr ||
      !args_blob.Parse(args[2]) || !IntArg(args[8], &max_retries) ||
      (retry_exceptions = PyObject_IsTrue(args[9])) < 0) {
    return nullptr;
  }
  unsigned long num_returns = PyLong_AsUnsignedLongMask(args[6]);
  if (num_returns == static_cast<unsigned long>(-1) && PyErr_Occurred()) return nullptr;
  if (!PyDict_Check(resources)) {
    PyErr_SetString(PyExc_TypeError, "submit_task: resources must be a dict");
    return nullptr;
  }
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  if (PySequence_Size(arg_buffers) != 0) {
    if (!PyErr_Occurred()) {
      PyErr_SetString(PyExc_ValueError, "submit_task takes its arguments in-band (arg_buffers must be empty)");
    }
    return nullptr;
  }
  TaskSubmission task;
  task.function_id.assign(function_id.data(), function_id.size());
  task.name.assign(name, static_cast<size_t>(name_size));
  task.args = ByteSpan{reinterpret_cast<const uint8_t*>(args_blob.data()), args_blob.size()};
  if (!IdsFromList(dependencies, &task.dependencies) ||
      !RefsFromList(contained, &task.contained, &task.contained_actors)) {
    return nullptr;
  }
  task.num_returns = static_cast<uint32_t>(num_returns);
  task.max_retries = max_retries;
  task.retry_exceptions = retry_exceptions;
  if (!ResourcesFromDict(resources, &task.resources)) return nullptr;
  StatusOr<std::vector<ObjectID>> returns = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  returns = core->SubmitTask(task);
  Py_END_ALLOW_THREADS
  if (!returns.ok()) return RaiseStatus(returns.status());
  return IdsToList(*returns);
}

PyObject* Cancel(PyObject*, PyObject* args) {
  PyObject* id_obj;
  int force;
  if (!PyArg_ParseTuple(args, "Op", &id_obj, &force)) return nullptr;
  ObjectID id;
  CoreWorker* core = Core();
  if (core == nullptr || !IdFromBytes(id_obj, &id)) return nullptr;
  Status status = core->Cancel(id, force);
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

PyObject* NextTask(PyObject*, PyObject*) {
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  std::optional<std::string> frame;
  bool interrupted = false;
  Py_BEGIN_ALLOW_THREADS
  frame = core->NextTask(&interrupted);
  Py_END_ALLOW_THREADS
  if (interrupted && PyErr_Occurred()) return nullptr;
  if (!frame.has_value()) Py_RETURN_NONE;
  return ExecuteTaskToTuple(core, *frame);
}

// task_done(task_id, results, retry, keep_context=False), once per task: its arguments and the
// results' (kind, data, buffers, contained) tuples are converted by hand (METH_FASTCALL).
PyObject* TaskDone(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 3 || nargs > 4) {
    PyErr_Format(PyExc_TypeError, "task_done takes 3 or 4 arguments (%zd given)", nargs);
    return nullptr;
  }
  PyObject* task_id_obj = args[0];
  PyObject* results = args[1];
  if (!PyList_Check(results)) {
    PyErr_SetString(PyExc_TypeError, "task_done: results must be a list");
    return nullptr;
  }
  int retry = PyObject_IsTrue(args[2]);
  int keep_context = nargs > 3 ? PyObject_IsTrue(args[3]) : 0;
  if (retry < 0 || keep_context < 0) return nullptr;
  CoreWorker* core = Core();
  TaskID task_id;
  if (core == nullptr || !IdFromBytes(task_id_obj, &task_id)) return nullptr;
  std::vector<OutgoingParts> parts(static_cast<size_t>(PyList_GET_SIZE(results)));
  std::vector<OutgoingValue> values;
  values.reserve(parts.size());
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(results); ++i) {
    PyObject* item = PyList_GET_ITEM(results, i);
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
      PyErr_SetString(PyExc_TypeError,
                      "task_done: each result must be a (kind, data, buffers, contained) tuple");
      return nullptr;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
    if (kind == -1 && PyErr_Occurred()) return nullptr;
    if (kind < 0 || kind > 2) {
      PyErr_SetString(PyExc_ValueError, "result kind must be 0, 1 or 2");
      return nullptr;
    }
    if (!parts[i].Fill(static_cast<ValueKind>(kind), PyTuple_GET_ITEM(item, 1),
                       PyTuple_GET_ITEM(item, 2), PyTuple_GET_ITEM(item, 3))) {
      return nullptr;
    }
    values.push_back(parts[i].value);
  }
  Status status = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  status = core->TaskDone(task_id, values, retry);
  if (!keep_context) core->SetCurrentTask(TaskID());
  Py_END_ALLOW_THREADS
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

bool ResourcesFromDict(PyObject* dict, std::map<std::string, double>* out) {
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    const char* resource = PyUnicode_AsUTF8(key);
    double amount = PyFloat_AsDouble(value);
    if (resource == nullptr || PyErr_Occurred()) return false;
    (*out)[resource] = amount;
  }
  return true;
}

PyObject* ActorLookupToTuple(const ActorLookup& lookup) {
  return Py_BuildValue("(y#y#)", lookup.id.Binary().data(), (Py_ssize_t)ActorID::kSize,
                       lookup.handle_meta.data(), (Py_ssize_t)lookup.handle_meta.size());
}

PyObject* CreateActor(PyObject*, PyObject* args) {
  Py_buffer function_id, args_blob, meta;
  const char *name, *actor_name, *ns;
  PyObject *dependencies, *contained, *placement, *lifetime;
  int max_restarts, max_task_retries, max_concurrency, detached, get_if_exists;
  if (!PyArg_ParseTuple(args, "y*sy*OOO!O!iiissppy*", &function_id, &name, &args_blob, &dependencies,
                        &contained, &PyDict_Type, &placement, &PyDict_Type, &lifetime, &max_restarts,
                        &max_task_retries, &max_concurrency, &actor_name, &ns, &detached,
                        &get_if_exists, &meta)) {
    return nullptr;
  }
  struct Release {
    Py_buffer* a;
    Py_buffer* b;
    Py_buffer* c;
    ~Release() {
      PyBuffer_Release(a);
      PyBuffer_Release(b);
      PyBuffer_Release(c);
    }
  } release{&function_id, &args_blob, &meta};
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  ActorCreation creation;
  creation.task.function_id.assign(static_cast<const char*>(function_id.buf), function_id.len);
  creation.task.name = name;
  creation.task.args = ByteSpan{static_cast<const uint8_t*>(args_blob.buf), static_cast<size_t>(args_blob.len)};
  if (!IdsFromList(dependencies, &creation.task.dependencies) ||
      !RefsFromList(contained, &creation.task.contained, &creation.task.contained_actors) ||
      !ResourcesFromDict(placement, &creation.task.resources) ||
      !ResourcesFromDict(lifetime, &creation.lifetime_resources)) {
    return nullptr;
  }
  creation.max_restarts = max_restarts;
  creation.max_task_retries = max_task_retries;
  creation.max_concurrency = max_concurrency;
  creation.name = actor_name;
  creation.ns = ns;
  creation.detached = detached;
  creation.get_if_exists = get_if_exists;
  creation.handle_meta.assign(static_cast<const char*>(meta.buf), meta.len);
  StatusOr<ActorLookup> created = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  created = core->CreateActor(creation);
  Py_END_ALLOW_THREADS
  if (!created.ok()) return RaiseStatus(created.status());
  return ActorLookupToTuple(*created);
}

PyObject* SubmitActorTask(PyObject*, PyObject* args) {
  PyObject *actor_id_obj, *dependencies, *contained;
  const char *method, *name;
  Py_buffer args_blob;
  unsigned int num_returns;
  if (!PyArg_ParseTuple(args, "Ossy*OOI", &actor_id_obj, &method, &name, &args_blob, &dependencies,
                        &contained, &num_returns)) {
    return nullptr;
  }
  struct Release {
    Py_buffer* a;
    ~Release() { PyBuffer_Release(a); }
  } release{&args_blob};
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  TaskSubmission task;
  if (!IdFromBytes(actor_id_obj, &task.actor_id)) return nullptr;
  task.method = method;
  task.name = name;
  task.args = ByteSpan{static_cast<const uint8_t*>(args_blob.buf), static_cast<size_t>(args_blob.len)};
  if (!IdsFromList(dependencies, &task.dependencies) ||
      !RefsFromList(contained, &task.contained, &task.contained_actors)) {
    return nullptr;
  }
  task.num_returns = num_returns;
  StatusOr<std::vector<ObjectID>> returns = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  returns = core->SubmitTask(task);
  Py_END_ALLOW_THREADS
  if (!returns.ok()) return RaiseStatus(returns.status());
  return IdsToList(*returns);
}

PyObject* GetActor(PyObject*, PyObject* args) {
  const char *name, *ns;
  if (!PyArg_ParseTuple(args, "ss", &name, &ns)) return nullptr;
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  StatusOr<ActorLookup> found = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  found = core->GetActor(name, ns);
  Py_END_ALLOW_THREADS
  if (!found.ok()) return RaiseStatus(found.status());
  return ActorLookupToTuple(*found);
}

PyObject* KillActor(PyObject*, PyObject* args) {
  PyObject* id_obj;
  int no_restart;
  if (!PyArg_ParseTuple(args, "Op", &id_obj, &no_restart)) return nullptr;
  ActorID id;
  CoreWorker* core = Core();
  if (core == nullptr || !IdFromBytes(id_obj, &id)) return nullptr;
  Status status = core->KillActor(id, no_restart);
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

PyObject* AddActorRef(PyObject*, PyObject* arg) {
  ActorID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (g_core != nullptr) g_core->AddActorRef(id);
  Py_RETURN_NONE;
}

PyObject* RemoveActorRef(PyObject*, PyObject* arg) {
  ActorID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (g_core != nullptr) g_core->RemoveActorRef(id);
  Py_RETURN_NONE;
}

PyObject* SetCurrentTask(PyObject*, PyObject* arg) {
  TaskID id;
  CoreWorker* core = Core();
  if (core == nullptr || !IdFromBytes(arg, &id)) return nullptr;
  core->SetCurrentTask(id);
  Py_RETURN_NONE;
}

PyObject* ClusterResources(PyObject*, PyObject*) { return NodeInfoQuery(Core(), InfoKind::kTotal); }
PyObject* AvailableResources(PyObject*, PyObject*) { return NodeInfoQuery(Core(), InfoKind::kAvailable); }
PyObject* Nodes(PyObject*, PyObject*) { return NodeInfoQuery(Core(), InfoKind::kNodes); }

PyObject* DirectTaskCount(PyObject*, PyObject*) {
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  return PyLong_FromUnsignedLongLong(core->direct_task_count());
}

PyObject* ObjectStoreStats(PyObject*, PyObject*) {
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  StatusOr<StoreStats> stats = Status::OK();
  Py_BEGIN_ALLOW_THREADS
  stats = core->ObjectStoreStats();
  Py_END_ALLOW_THREADS
  if (!stats.ok()) return RaiseStatus(stats.status());
  const StoreStats& s = *stats;
  return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:s,s:s}", "capacity", s.capacity,
                       "used", s.used, "num_objects", s.num_objects, "num_in_memory", s.num_in_memory,
                       "num_spilled", s.num_spilled, "spilled_bytes", s.spilled_bytes, "spill_count",
                       s.spill_count, "spill_bytes_total", s.spill_bytes_total, "restore_count",
                       s.restore_count, "restore_bytes_total", s.restore_bytes_total, "store_dir",
                       s.store_dir.c_str(), "spill_dir", s.spill_dir.c_str());
}

PyObject* Context(PyObject*, PyObject*) {
  CoreWorker* core = Core();
  if (core == nullptr) return nullptr;
  const WelcomeInfo& w = core->welcome();
  TaskID task = core->current_task();
  JobID job = core->job_id();
  return Py_BuildValue("{s:y#,s:y#,s:y#,s:y#}", "job_id", job.Binary().data(), (Py_ssize_t)JobID::kSize,
                       "node_id", w.node_id.Binary().data(), (Py_ssize_t)NodeID::kSize, "worker_id",
                       w.worker_id.Binary().data(), (Py_ssize_t)WorkerID::kSize, "task_id",
                       task.Binary().data(), (Py_ssize_t)TaskID::kSize);
}

PyMethodDef kMethods[] = {
    {"start_node", StartNode, METH_VARARGS, "start_node(num_cpus, num_gpus, resources, object_store_memory) -> socket path"},
    {"stop_node", StopNode, METH_NOARGS, "Stops the node embedded in this process."},
    {"connect", Connect, METH_VARARGS, "connect(socket_path) -> dict: connects as the driver."},
    {"disconnect", Disconnect, METH_NOARGS, "Closes the connection to the node."},
    {"is_connected", IsConnected, METH_NOARGS, "True while connected to a node."},
    {"put", Put, METH_VARARGS, "put(data, buffers, contained) -> object id"},
    {"get", Get, METH_VARARGS, "get(ids, timeout) -> [(kind, data, buffers)]"},
    {"wait", Wait, METH_VARARGS, "wait(ids, num_returns, timeout, fetch_local) -> [ready]"},
    {"add_ref", AddRef, METH_O, "This process holds one more reference to the id."},
    {"remove_ref", RemoveRef, METH_O, "This process holds one reference fewer to the id."},
    {"export_function", ExportFunction, METH_VARARGS, "export_function(function_id, blob)"},
    {"submit_task", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(SubmitTask)),
     METH_FASTCALL,
     "submit_task(function_id, name, args_blob, arg_buffers, dependencies, contained, "
     "num_returns, resources, max_retries, retry_exceptions) -> [return ids]"},
    {"cancel", Cancel, METH_VARARGS, "cancel(object_id, force)"},
    {"next_task", NextTask, METH_NOARGS, "Worker: the next task tuple, or None at shutdown."},
    {"task_done", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(TaskDone)),
     METH_FASTCALL,
     "Worker: task_done(task_id, results, retry, keep_context=False); keep_context leaves the "
     "calling thread's current task as it is."},
    {"create_actor", CreateActor, METH_VARARGS,
     "create_actor(class_id, name, args, deps, contained, placement, lifetime, max_restarts, "
     "max_task_retries, max_concurrency, actor_name, namespace, detached, get_if_exists, meta) "
     "-> (actor_id, meta)"},
    {"submit_actor_task", SubmitActorTask, METH_VARARGS,
     "submit_actor_task(actor_id, method, name, args, deps, contained, num_returns) -> [return ids]"},
    {"get_actor", GetActor, METH_VARARGS, "get_actor(name, namespace) -> (actor_id, meta)"},
    {"kill_actor", KillActor, METH_VARARGS, "kill_actor(actor_id, no_restart)"},
    {"add_actor_ref", AddActorRef, METH_O, "This process holds one more handle to the actor."},
    {"remove_actor_ref", RemoveActorRef, METH_O, "This process holds one handle fewer to the actor."},
    {"set_current_task", SetCurrentTask, METH_O,
     "Worker: the calling thread now runs this task (ids of what it submits derive from it)."},
    {"cluster_resources", ClusterResources, METH_NOARGS, "Total resources of the cluster."},
    {"available_resources", AvailableResources, METH_NOARGS, "Resources free now."},
    {"nodes", Nodes, METH_NOARGS, "The cluster's nodes."},
    {"object_store_stats", ObjectStoreStats, METH_NOARGS, "The node's object store figures (a dict)."},
    {"direct_task_count", DirectTaskCount, METH_NOARGS,
     "Tasks this process sent straight to a leased worker (direct submission) so far."},
    {"context", Context, METH_NOARGS, "Ids of this job, node, worker and current task."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef kModuleDef = {
    PyModuleDef_HEAD_INIT, "_rayx", "The rayx engine's Python bindings.", -1, kMethods,
};

}  // namespace

Status ConnectWorker(const std::string& socket_path, const WorkerID& worker_id) {
  std::lock_guard<std::mutex> lock(g_mu);
  RAYX_ASSIGN_OR_RETURN(g_core, CoreWorker::Connect(socket_path, wire::Role::Worker, worker_id));
  // A task blocked in get is cancelled by SIGINT (KeyboardInterrupt) like one that computes.
  g_core->SetInterruptCheck(PythonSignalPending);
  return Status::OK();
}

}  // namespace rayx

extern "C" PyObject* PyInit__rayx(void) {
  PyObject* module = PyModule_Create(&rayx::kModuleDef);
  if (module == nullptr) return nullptr;
  rayx::g_engine_error = PyErr_NewException("_rayx.EngineError", PyExc_RuntimeError, nullptr);
  Py_INCREF(rayx::g_engine_error);
  PyModule_AddObject(module, "EngineError", rayx::g_engine_error);
  if (rayx::RegisterMappingType(module) != 0) return nullptr;
  pthread_atfork(nullptr, nullptr, rayx::ForgetEngineInForkedChild);
  return module;
}
