// The `_rayx` extension module: the Python package's bridge to the engine.
//
// Its entry points live by area in module_*.cc, each wrapped by Entry (entry.h): arguments are
// converted, the GIL is released while the engine works, a failed Status becomes a Python
// exception in one place (RaiseStatus), and no C++ exception gets past the boundary. Python code
// never runs on a node's loop thread: the embedded node (start_node) runs on its own thread, and
// the process talks to it over its socket like any other client.
#include "embed/core/module.h"

#include <pthread.h>

#include <vector>

#include "embed/core/entry.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_values.h"
#include "engine/client/client_types.h"
#include "engine/wire/values.h"

namespace rayx {
namespace {

// The child of a fork shares its parent's socket to the node and has none of its threads: it
// must neither write to that socket (its frames would interleave with the parent's), nor shut
// it down, nor wait for the node's thread. So it forgets the runtime and the node without
// destroying them, and rayx calls in it fail with a clear error.
void ForgetEngineInForkedChild() {
  ForgetRuntimeInForkedChild();
  ForgetNodeInForkedChild();
}

std::vector<PyMethodDef>& Methods() {
  static std::vector<PyMethodDef> methods = [] {
    std::vector<PyMethodDef> all;
    AddRuntimeMethods(&all);
    AddObjectMethods(&all);
    AddTaskMethods(&all);
    AddActorMethods(&all);
    AddPlacementGroupMethods(&all);
    all.push_back({nullptr, nullptr, 0, nullptr});
    return all;
  }();
  return methods;
}

PyModuleDef kModuleDef = {
    PyModuleDef_HEAD_INIT, "_rayx", "The rayx engine's Python bindings.", -1, nullptr,
};

// _rayx.SYSTEM_ERRORS: the codes of system error values (engine/wire/values.h), by name.
int AddSystemErrors(PyObject* module) {
  constexpr int kCount = static_cast<int>(SystemErrorCode::kObjectFreed) + 1;
  PyObject* codes = PyTuple_New(kCount);
  if (codes == nullptr) return -1;
  for (int i = 0; i < kCount; ++i) {
    std::string_view name = SystemErrorName(static_cast<SystemErrorCode>(i));
    PyObject* text = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    if (text == nullptr) {
      Py_DECREF(codes);
      return -1;
    }
    PyTuple_SET_ITEM(codes, i, text);
  }
  return PyModule_AddObject(module, "SYSTEM_ERRORS", codes);
}

// _rayx.REPORT_NOW, REPORT_AFTER_FLUSH, REPORT_SOON: task_done's timings (ReportTiming).
int AddReportTimings(PyObject* module) {
  return PyModule_AddIntConstant(module, "REPORT_NOW", static_cast<int>(ReportTiming::kNow)) ||
         PyModule_AddIntConstant(module, "REPORT_AFTER_FLUSH",
                                 static_cast<int>(ReportTiming::kAfterFlush)) ||
         PyModule_AddIntConstant(module, "REPORT_SOON", static_cast<int>(ReportTiming::kSoon));
}

}  // namespace
}  // namespace rayx

extern "C" PyObject* PyInit__rayx(void) {
  rayx::kModuleDef.m_methods = rayx::Methods().data();
  PyObject* module = PyModule_Create(&rayx::kModuleDef);
  if (module == nullptr) return nullptr;
  rayx::g_engine_error = PyErr_NewException("_rayx.EngineError", PyExc_RuntimeError, nullptr);
  if (rayx::g_engine_error == nullptr) return nullptr;
  Py_INCREF(rayx::g_engine_error);
  if (PyModule_AddObject(module, "EngineError", rayx::g_engine_error) != 0 ||
      rayx::RegisterMappingType(module) != 0 || rayx::AddSystemErrors(module) != 0 ||
      rayx::AddReportTimings(module) != 0) {
    Py_DECREF(module);
    return nullptr;
  }
  pthread_atfork(nullptr, nullptr, rayx::ForgetEngineInForkedChild);
  // Python's own fork hook, which runs only in children of os.fork (never in a worker being
  // spawned, which execs at once): see AfterForkInChild.
  PyObject* os = PyImport_ImportModule("os");
  PyObject* hook = PyObject_GetAttrString(module, "_after_fork_in_child");
  PyObject* reg = os == nullptr ? nullptr : PyObject_GetAttrString(os, "register_at_fork");
  PyObject* kwargs = hook == nullptr ? nullptr : Py_BuildValue("{s:O}", "after_in_child", hook);
  PyObject* no_args = PyTuple_New(0);
  PyObject* done = reg && kwargs && no_args ? PyObject_Call(reg, no_args, kwargs) : nullptr;
  Py_XDECREF(done);
  Py_XDECREF(no_args);
  Py_XDECREF(kwargs);
  Py_XDECREF(reg);
  Py_XDECREF(hook);
  Py_XDECREF(os);
  if (done == nullptr) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
