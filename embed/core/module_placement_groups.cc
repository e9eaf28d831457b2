// `_rayx` entry points: placement group requests (rayx.util.placement_group).
#include <memory>
#include <vector>

#include "embed/core/entry.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_args.h"

namespace rayx {
namespace {

// (id, name, strategy, state, [bundle dicts], bundle_nodes bytes, detached): bundle_nodes holds
// per bundle the raw id of the node that holds it (zeros: none), concatenated.
PyObject* GroupToTuple(const PlacementGroupInfo& group) {
  PyObject* bundles = PyList_New(0);
  if (bundles == nullptr) return nullptr;
  for (const auto& bundle : group.bundles) {
    PyObject* dict = PyDict_New();
    if (dict == nullptr) {
      Py_DECREF(bundles);
      return nullptr;
    }
    for (const auto& [name, amount] : bundle) {
      PyObject* value = PyFloat_FromDouble(amount);
      if (value == nullptr || PyDict_SetItemString(dict, name.c_str(), value) != 0) {
        Py_XDECREF(value);
        Py_DECREF(dict);
        Py_DECREF(bundles);
        return nullptr;
      }
      Py_DECREF(value);
    }
    int appended = PyList_Append(bundles, dict);
    Py_DECREF(dict);
    if (appended != 0) {
      Py_DECREF(bundles);
      return nullptr;
    }
  }
  const std::string& node = group.bundle_nodes;
  return Py_BuildValue("(y#s#s#iNy#O)", group.id.data(), (Py_ssize_t)group.id.size(),
                       group.name.data(), (Py_ssize_t)group.name.size(), group.strategy.data(),
                       (Py_ssize_t)group.strategy.size(), group.state, bundles, node.data(),
                       (Py_ssize_t)node.size(), group.detached ? Py_True : Py_False);
}

PyObject* PlacementGroupCall(PyObject*, PyObject* args) {
  int op, detached;
  PyObject *id_obj, *bundles_obj;
  const char *name, *strategy;
  if (!PyArg_ParseTuple(args, "iOssO!p", &op, &id_obj, &name, &strategy, &PyList_Type, &bundles_obj,
                        &detached)) {
    return nullptr;
  }
  if (op < 0 || op > 255) {
    PyErr_SetString(PyExc_ValueError, "placement_group_call: unknown op");
    return nullptr;
  }
  BytesArg id;
  if (!id.Parse(id_obj)) return nullptr;
  PlacementGroupInfo group;
  group.id = id.str();
  group.name = name;
  group.strategy = strategy;
  group.detached = detached != 0;
  Py_ssize_t n = PyList_GET_SIZE(bundles_obj);
  for (Py_ssize_t i = 0; i < n; ++i) {
    std::map<std::string, double> bundle;
    if (!ResourcesFromDict(PyList_GET_ITEM(bundles_obj, i), &bundle)) return nullptr;
    group.bundles.push_back(std::move(bundle));
  }
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  auto answer =
      WithoutGil([&] { return runtime->PlacementGroupCall(static_cast<uint8_t>(op), group); });
  if (!answer.ok()) return RaiseStatus(answer.status());
  if (!answer->error.empty()) {
    return PyUnicode_FromStringAndSize(answer->error.data(), answer->error.size());
  }
  PyObject* list = PyList_New(0);
  if (list == nullptr) return nullptr;
  for (const PlacementGroupInfo& g : answer->groups) {
    PyObject* item = GroupToTuple(g);
    if (item == nullptr || PyList_Append(list, item) != 0) {
      Py_XDECREF(item);
      Py_DECREF(list);
      return nullptr;
    }
    Py_DECREF(item);
  }
  return list;
}

}  // namespace

void AddPlacementGroupMethods(std::vector<PyMethodDef>* methods) {
  methods->insert(
      methods->end(),
      {
          {"placement_group_call", Entry<PlacementGroupCall>, METH_VARARGS,
           "placement_group_call(op, id, name, strategy, bundles, detached) -> "
           "[(id, name, strategy, state, bundles, bundle_nodes, detached)], or the node's "
           "refusal as a str 'KIND: message'; op: 0 create, 1 remove, 2 get (by id, "
           "or by name when id is b''), 3 table"},
      });
}

}  // namespace rayx
