// `_rayx` entry points: function exports, task submission and cancellation, and a worker's side
// of the tasks it runs.
#include <memory>
#include <vector>

#include "embed/core/entry.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_args.h"
#include "embed/core/py_values.h"

namespace rayx {
namespace {

PyObject* ExportFunction(PyObject*, PyObject* args) {
  PyObject *id_obj, *blob_obj;
  if (!PyArg_ParseTuple(args, "OO", &id_obj, &blob_obj)) return nullptr;
  BytesArg id, blob;
  if (!id.Parse(id_obj) || !blob.Parse(blob_obj)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  std::string function_id = id.str();
  ByteSpan bytes{reinterpret_cast<const uint8_t*>(blob.data()), blob.size()};
  Status status = WithoutGil([&] { return runtime->ExportFunction(function_id, bytes); });
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

// submit_task(function_id, name, args_blob, arg_buffers, dependencies, contained, num_returns,
// resources, max_retries, retry_exceptions, placement[, streaming]). Called once per task: its
// arguments are converted by hand (METH_FASTCALL), without an argument tuple or a format string
// to interpret. streaming (a generator task) is passed only when true.
PyObject* SubmitTask(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 11 && nargs != 12) {
    PyErr_Format(PyExc_TypeError, "submit_task takes 11 or 12 arguments (%zd given)", nargs);
    return nullptr;
  }
  BytesArg function_id, args_blob;
  Py_ssize_t name_size;
  const char* name;
  PyObject *arg_buffers = args[3], *dependencies = args[4], *contained = args[5];
  int max_retries, retry_exceptions;
  if (!function_id.Parse(args[0]) || (name = StringArg(args[1], &name_size)) == nullptr ||
      !args_blob.Parse(args[2]) || !IntArg(args[8], &max_retries) ||
      (retry_exceptions = PyObject_IsTrue(args[9])) < 0) {
    return nullptr;
  }
  unsigned long num_returns = PyLong_AsUnsignedLongMask(args[6]);
  if (num_returns == static_cast<unsigned long>(-1) && PyErr_Occurred()) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  Py_ssize_t buffer_count = PySequence_Size(arg_buffers);
  if (buffer_count != 0) {
    if (buffer_count > 0) {
      PyErr_SetString(PyExc_ValueError,
                      "submit_task takes its arguments in-band (arg_buffers must be empty)");
    }
    return nullptr;
  }
  TaskSubmission task;
  task.function_id.assign(function_id.data(), function_id.size());
  task.name.assign(name, static_cast<size_t>(name_size));
  task.args = ByteSpan{reinterpret_cast<const uint8_t*>(args_blob.data()), args_blob.size()};
  if (!IdsFromList(dependencies, &task.dependencies) ||
      !RefsFromList(contained, &task.contained, &task.contained_actors) ||
      !ResourcesFromDict(args[7], &task.resources) || !PlacementFromObject(args[10], &task)) {
    return nullptr;
  }
  task.num_returns = static_cast<uint32_t>(num_returns);
  task.max_retries = max_retries;
  task.retry_exceptions = retry_exceptions;
  if (nargs == 12) {
    int streaming = PyObject_IsTrue(args[11]);
    if (streaming < 0) return nullptr;
    task.streaming = streaming;
  }
  auto returns = WithoutGil([&] { return runtime->SubmitTask(task); });
  if (!returns.ok()) return RaiseStatus(returns.status());
  return IdsToList(*returns);
}

// put_item(task_id, index, data, buffers, contained): a worker's generator task yielded its
// item index (0-based), stored as the task's return index + 1 and held for its generator.
PyObject* PutItem(PyObject*, PyObject* args) {
  PyObject *task_obj, *data, *buffers, *contained;
  unsigned int index;
  if (!PyArg_ParseTuple(args, "OIOOO", &task_obj, &index, &data, &buffers, &contained)) {
    return nullptr;
  }
  TaskID task_id;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr || !IdFromBytes(task_obj, &task_id)) return nullptr;
  if (index >= 0x7fffffffu) {  // The top bit of an index marks puts (ids.h).
    PyErr_SetString(PyExc_ValueError, "put_item: a generator task yields fewer than 2**31 items");
    return nullptr;
  }
  OutgoingParts parts;
  if (!parts.Fill(ValueKind::kValue, data, buffers, contained)) return nullptr;
  ObjectID id = ObjectID::ForReturn(task_id, index + 1);
  Status status = WithoutGil([&] { return runtime->PutItem(id, parts.value); });
  if (!status.ok()) return RaiseStatus(status);
  return IdToBytes(id);
}

PyObject* Cancel(PyObject*, PyObject* args) {
  PyObject* id_obj;
  int force;
  int recursive = 1;
  if (!PyArg_ParseTuple(args, "Op|p", &id_obj, &force, &recursive)) return nullptr;
  ObjectID id;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr || !IdFromBytes(id_obj, &id)) return nullptr;
  Status status = WithoutGil([&] { return runtime->Cancel(id, force, recursive); });
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

PyObject* NextTask(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  // Reused by this thread's calls, so that its vectors keep their room from task to task; the
  // frame and the argument values go when the call returns (they are the tuple's now).
  static thread_local TaskToRun task;
  struct Release {
    TaskToRun& task;
    ~Release() {
      std::string().swap(task.frame);
      task.dependency_values.clear();
    }
  } release{task};
  bool interrupted = false;
  StatusOr<bool> got = WithoutGil([&] { return runtime->NextTask(&task, &interrupted); });
  if (interrupted && PyErr_Occurred()) return nullptr;
  if (!got.ok()) return RaiseStatus(got.status());
  if (!*got) Py_RETURN_NONE;
  if (task.cancel_notice) {  // A cancel notice: the cancelled call's task id.
    return PyBytes_FromStringAndSize(task.task_id.Binary().data(),
                                     static_cast<Py_ssize_t>(TaskID::kSize));
  }
  return TaskToTuple(task);
}

// task_done(task_id, results, retry, keep_context=False, timing=REPORT_NOW), once per task: its
// arguments and the results' (kind, data, buffers, contained) tuples are converted by hand
// (METH_FASTCALL).
PyObject* TaskDone(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 3 || nargs > 5) {
    PyErr_Format(PyExc_TypeError, "task_done takes 3 to 5 arguments (%zd given)", nargs);
    return nullptr;
  }
  PyObject* results = args[1];
  if (!PyList_Check(results)) {
    PyErr_SetString(PyExc_TypeError, "task_done: results must be a list");
    return nullptr;
  }
  int retry = PyObject_IsTrue(args[2]);
  int keep_context = nargs > 3 ? PyObject_IsTrue(args[3]) : 0;
  long timing = nargs > 4 ? PyLong_AsLong(args[4]) : static_cast<long>(ReportTiming::kNow);
  if (retry < 0 || keep_context < 0 || (timing == -1 && PyErr_Occurred())) return nullptr;
  if (timing < 0 || timing > static_cast<long>(ReportTiming::kSoon)) {
    PyErr_SetString(PyExc_ValueError,
                    "task_done: timing must be REPORT_NOW, _AFTER_FLUSH or _SOON");
    return nullptr;
  }
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  TaskID task_id;
  if (runtime == nullptr || !IdFromBytes(args[0], &task_id)) return nullptr;
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
    if (kind < 0 || kind > static_cast<long>(ValueKind::kSystemError)) {
      PyErr_SetString(PyExc_ValueError, "result kind must be 0, 1 or 2");
      return nullptr;
    }
    if (!parts[i].Fill(static_cast<ValueKind>(kind), PyTuple_GET_ITEM(item, 1),
                       PyTuple_GET_ITEM(item, 2), PyTuple_GET_ITEM(item, 3))) {
      return nullptr;
    }
    values.push_back(parts[i].value);
  }
  auto report = [&] {
    Status done = runtime->TaskDone(task_id, values, retry, static_cast<ReportTiming>(timing));
    if (!keep_context) runtime->SetCurrentTask(TaskID());
    return done;
  };
  // A report that waits for others is only queued, without a system call: the GIL stays. Given
  // up for every call of an async actor, it went to the actor's reader thread, and the event loop
  // then waited to take it back.
  bool queued_only = timing != static_cast<long>(ReportTiming::kNow) &&
                     ClientRuntime::ReportWaitsForOthers(values);
  Status status = queued_only ? report() : WithoutGil(report);
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

// task_cancelled(task_id, wait=True): whether the node cancelled this task, after reading what
// has arrived (a worker asks when a SIGINT came; with wait, it waits for another thread's read to
// end, so that a CancelTask in the socket before the signal is seen; is_canceled() does not).
PyObject* TaskCancelled(PyObject*, PyObject* args) {
  PyObject* id_obj;
  int wait = 1;
  if (!PyArg_ParseTuple(args, "O|p", &id_obj, &wait)) return nullptr;
  TaskID id;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr || !IdFromBytes(id_obj, &id)) return nullptr;
  bool cancelled = WithoutGil([&] { return runtime->TaskCancelled(id, wait ? 500 : 0); });
  return PyBool_FromLong(cancelled);
}

PyObject* EnableCancelNotices(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  runtime->EnableCancelNotices();
  Py_RETURN_NONE;
}

PyObject* FlushResults(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  WithoutGil([&] { runtime->FlushResults(); });
  Py_RETURN_NONE;
}

PyObject* SetCurrentTask(PyObject*, PyObject* arg) {
  TaskID id;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr || !IdFromBytes(arg, &id)) return nullptr;
  runtime->SetCurrentTask(id);
  Py_RETURN_NONE;
}

PyObject* DirectTaskCount(PyObject*, PyObject*) {
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  return PyLong_FromUnsignedLongLong(runtime->direct_task_count());
}

}  // namespace

void AddTaskMethods(std::vector<PyMethodDef>* methods) {
  methods->insert(
      methods->end(),
      {
          {"export_function", Entry<ExportFunction>, METH_VARARGS,
           "export_function(function_id, blob)"},
          {"submit_task", FastEntry<SubmitTask>(), METH_FASTCALL,
           "submit_task(function_id, name, args_blob, arg_buffers, dependencies, contained, "
           "num_returns, resources, max_retries, retry_exceptions, placement[, streaming]) -> "
           "[return ids]"},
          {"put_item", Entry<PutItem>, METH_VARARGS,
           "Worker: put_item(task_id, index, data, buffers, contained) -> the item's object id "
           "(a generator task's item index, held for its generator)."},
          {"cancel", Entry<Cancel>, METH_VARARGS,
           "cancel(object_id, force, recursive=True); ValueError for force=True on an actor's "
           "call."},
          {"next_task", Entry<NextTask>, METH_NOARGS,
           "Worker: the next task tuple, a cancelled call's id (bytes, with cancel notices on), "
           "or None at shutdown."},
          {"task_done", FastEntry<TaskDone>(), METH_FASTCALL,
           "Worker: task_done(task_id, results, retry, keep_context=False, timing=REPORT_NOW); "
           "keep_context leaves the calling thread's current task as it is; timing "
           "REPORT_AFTER_FLUSH lets a small report wait for flush_results (5 ms at most), "
           "REPORT_SOON for other threads' (200 us at most)."},
          {"flush_results", Entry<FlushResults>, METH_NOARGS,
           "Worker: sends the reports that wait (task_done with REPORT_AFTER_FLUSH)."},
          {"task_cancelled", Entry<TaskCancelled>, METH_VARARGS,
           "Worker: task_cancelled(task_id, wait=True): whether the node cancelled this task "
           "(reads what has arrived first)."},
          {"enable_cancel_notices", Entry<EnableCancelNotices>, METH_NOARGS,
           "Worker (an actor serving calls concurrently): next_task also returns the id (bytes) of "
           "each call the node cancels."},
          {"set_current_task", Entry<SetCurrentTask>, METH_O,
           "Worker: the calling thread now runs this task (ids of what it submits derive from "
           "it)."},
          {"direct_task_count", Entry<DirectTaskCount>, METH_NOARGS,
           "Tasks this process sent straight to a leased worker (direct submission) so far."},
      });
}

}  // namespace rayx
