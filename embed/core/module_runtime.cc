// `_rayx` entry points: the embedded node, connecting and disconnecting, the context of the
// calling thread and the cluster's resources.
#include <algorithm>
#include <memory>
#include <string>

#include "embed/core/entry.h"
#include "embed/core/module.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_args.h"
#include "embed/core/py_values.h"
#include "engine/node/lineage_recorder.h"
#include "engine/node/node.h"
#include "engine/worker/worker_pool.h"
#include "storage/lineage_log.h"

namespace rayx {
namespace {

std::unique_ptr<Node> g_node;  // The node embedded in this process, if any. Guarded by the GIL.
bool g_node_starting = false;  // Guarded by the GIL.

// Runs Python's signal handlers (in the main thread; elsewhere it does nothing) for a thread that
// waits on the node with the GIL released: true when a handler raised, e.g. KeyboardInterrupt on
// Ctrl-C. The exception stays set on the waiting thread, which returns it to Python.
bool PythonSignalPending() {
  PyGILState_STATE gil = PyGILState_Ensure();
  bool raised = PyErr_CheckSignals() != 0;
  PyGILState_Release(gil);
  return raised;
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
  options.executable = WorkerExecutable();
  options.prestart_workers = static_cast<size_t>(std::max(0.0, std::min(num_cpus, 8.0)));
  if (!ResourcesFromDict(resources, &options.resources)) return nullptr;
  if (g_node != nullptr || g_node_starting) {
    return RaiseStatus(FailedPrecondition("a node already runs in this process"));
  }
  // The GIL guards g_node: no lock is held while it is released, so another thread may run
  // Python meanwhile (and is refused a second start).
  g_node_starting = true;
  StatusOr<std::unique_ptr<Node>> node = WithoutGil([&] { return Node::Start(options); });
  g_node_starting = false;
  if (!node.ok()) return RaiseStatus(node.status());
  g_node = std::move(node).value();
  return PyUnicode_FromString(g_node->socket_path().c_str());
}

PyObject* StopNode(PyObject*, PyObject*) {
  if (InForkedChild()) Py_RETURN_NONE;  // The node is the parent's.
  std::unique_ptr<Node> node = std::move(g_node);
  WithoutGil([&] { node.reset(); });
  Py_RETURN_NONE;
}

PyObject* WelcomeDict(const ClientRuntime& runtime) {
  const WelcomeInfo& w = runtime.welcome();
  return Py_BuildValue("{s:y#,s:y#,s:y#}", "job_id", w.job_id.Binary().data(),
                       (Py_ssize_t)JobID::kSize, "node_id", w.node_id.Binary().data(),
                       (Py_ssize_t)NodeID::kSize, "worker_id", w.worker_id.Binary().data(),
                       (Py_ssize_t)WorkerID::kSize);
}

bool g_connecting = false;  // Guarded by the GIL.

PyObject* Connect(PyObject*, PyObject* args) {
  const char* path;
  const char* job_namespace = "";
  if (!PyArg_ParseTuple(args, "s|s", &path, &job_namespace)) return nullptr;
  if (CurrentRuntime() != nullptr || g_connecting) {
    return RaiseStatus(FailedPrecondition("already connected to a node"));
  }
  std::string socket_path = path;
  g_connecting = true;
  auto runtime = WithoutGil(
      [&] { return ClientRuntime::Connect(socket_path, ClientRole::kDriver, WorkerID()); });
  g_connecting = false;
  if (!runtime.ok()) return RaiseStatus(runtime.status());
  (*runtime)->SetInterruptCheck(PythonSignalPending);
  (*runtime)->SetJobNamespace(job_namespace);
  std::shared_ptr<ClientRuntime> installed = std::move(runtime).value();
  InstallRuntime(installed);
  return WelcomeDict(*installed);
}

PyObject* Disconnect(PyObject*, PyObject*) {
  if (InForkedChild()) Py_RETURN_NONE;  // The connection is the parent's.
  std::shared_ptr<ClientRuntime> runtime = TakeRuntime();
  if (runtime == nullptr) Py_RETURN_NONE;
  // Calls still waiting in other threads wake with Unavailable; the runtime goes with the last
  // of them.
  WithoutGil([&] {
    runtime->Disconnect();
    runtime.reset();
  });
  Py_RETURN_NONE;
}

PyObject* IsConnected(PyObject*, PyObject*) { return PyBool_FromLong(CurrentRuntime() != nullptr); }

PyObject* Context(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  const WelcomeInfo& w = runtime->welcome();
  TaskID task = runtime->current_task();
  JobID job = runtime->job_id();
  std::string job_namespace = runtime->job_namespace();
  return Py_BuildValue("{s:y#,s:y#,s:y#,s:y#,s:s#}", "job_id", job.Binary().data(),
                       (Py_ssize_t)JobID::kSize, "node_id", w.node_id.Binary().data(),
                       (Py_ssize_t)NodeID::kSize, "worker_id", w.worker_id.Binary().data(),
                       (Py_ssize_t)WorkerID::kSize, "task_id", task.Binary().data(),
                       (Py_ssize_t)TaskID::kSize, "namespace", job_namespace.data(),
                       (Py_ssize_t)job_namespace.size());
}

// actor_id_of(creation_task_id): the id of the actor that the creation task creates.
PyObject* ActorIdOf(PyObject*, PyObject* task_obj) {
  TaskID task;
  if (!IdFromBytes(task_obj, &task)) return nullptr;
  ActorID actor = ActorID::Of(task);
  return PyBytes_FromStringAndSize(actor.Binary().data(), (Py_ssize_t)ActorID::kSize);
}

PyObject* NodeQuery(InfoKind kind) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  auto nodes = WithoutGil([&] { return runtime->Nodes(); });
  if (!nodes.ok()) return RaiseStatus(nodes.status());
  return NodesToPython(*nodes, kind);
}

PyObject* ClusterResources(PyObject*, PyObject*) { return NodeQuery(InfoKind::kTotal); }
PyObject* AvailableResources(PyObject*, PyObject*) { return NodeQuery(InfoKind::kAvailable); }
PyObject* Nodes(PyObject*, PyObject*) { return NodeQuery(InfoKind::kNodes); }

// _test_raise(kind): throws a C++ exception inside an entry point, with the GIL released as an
// engine call would, so that tests can see it become a Python exception: "runtime_error",
// "bad_alloc" or anything else (an exception of no std type).
PyObject* TestRaise(PyObject*, PyObject* arg) {
  Py_ssize_t size;
  const char* kind = StringArg(arg, &size);
  if (kind == nullptr) return nullptr;
  std::string what(kind, static_cast<size_t>(size));
  WithoutGil([&] {
    if (what == "runtime_error") throw std::runtime_error("raised for a test");
    if (what == "bad_alloc") throw std::bad_alloc();
    throw 42;
  });
  Py_RETURN_NONE;
}

// os.register_at_fork's after_in_child hook (module.cc): a child of os.fork that goes on without
// exec must not run the lineage log's static destructors at exit (storage/lineage_log.h).
PyObject* AfterForkInChild(PyObject*, PyObject*) {
  GuardForkedChildExit();
  Py_RETURN_NONE;
}

// The lineage log's id of this process's job once what was logged so far is on disk; None when
// nothing is logged (no node started here, or RAYX_LINEAGE=0).
PyObject* LineageJob(PyObject*, PyObject*) {
  LineageLog* log = ProcessLineage();
  if (log == nullptr) Py_RETURN_NONE;
  WithoutGil([&] { log->Flush(); });
  return PyUnicode_FromString(log->job_at_open().uid.c_str());
}

}  // namespace

void AddRuntimeMethods(std::vector<PyMethodDef>* methods) {
  methods->insert(
      methods->end(),
      {
          {"start_node", Entry<StartNode>, METH_VARARGS,
           "start_node(num_cpus, num_gpus, resources, object_store_memory) -> socket path"},
          {"stop_node", Entry<StopNode>, METH_NOARGS, "Stops the node embedded in this process."},
          {"connect", Entry<Connect>, METH_VARARGS,
           "connect(socket_path, namespace=\"\") -> dict: connects as the driver of a job in "
           "namespace."},
          {"disconnect", Entry<Disconnect>, METH_NOARGS,
           "Closes the connection to the node; calls waiting in other threads raise EngineError."},
          {"is_connected", Entry<IsConnected>, METH_NOARGS, "True while connected to a node."},
          {"context", Entry<Context>, METH_NOARGS,
           "Ids of this job, node, worker and current task."},
          {"actor_id_of", Entry<ActorIdOf>, METH_O,
           "actor_id_of(creation_task_id) -> the id of the actor it creates."},
          {"cluster_resources", Entry<ClusterResources>, METH_NOARGS,
           "Total resources of the cluster."},
          {"available_resources", Entry<AvailableResources>, METH_NOARGS, "Resources free now."},
          {"nodes", Entry<Nodes>, METH_NOARGS, "The cluster's nodes."},
          {"_after_fork_in_child", Entry<AfterForkInChild>, METH_NOARGS,
           "os.register_at_fork's after_in_child hook; rayx registers it itself."},
          {"lineage_job", Entry<LineageJob>, METH_NOARGS,
           "The lineage log's id of this process's job, flushed; None when not logged."},
          {"_test_raise", Entry<TestRaise>, METH_O,
           "Tests only: throws a C++ exception (runtime_error, bad_alloc, other) inside the "
           "engine."},
      });
}

void ForgetNodeInForkedChild() { (void)g_node.release(); }

Status ConnectWorker(const std::string& socket_path, const WorkerID& worker_id) {
  RAYX_ASSIGN_OR_RETURN(std::unique_ptr<ClientRuntime> runtime,
                        ClientRuntime::Connect(socket_path, ClientRole::kWorker, worker_id));
  // A task blocked in get is cancelled by SIGINT (KeyboardInterrupt) like one that computes.
  runtime->SetInterruptCheck(PythonSignalPending);
  InstallRuntime(std::move(runtime));
  return Status::OK();
}

}  // namespace rayx
