// `_rayx` entry points: actor creation, method calls, lookups, kills and handle counts.
#include <memory>
#include <vector>

#include "embed/core/entry.h"
#include "embed/core/module_areas.h"
#include "embed/core/py_args.h"
#include "embed/core/py_values.h"

namespace rayx {
namespace {

PyObject* ActorLookupToTuple(const ActorLookup& lookup) {
  return Py_BuildValue("(y#y#)", lookup.id.Binary().data(), (Py_ssize_t)ActorID::kSize,
                       lookup.handle_meta.data(), (Py_ssize_t)lookup.handle_meta.size());
}

PyObject* CreateActor(PyObject*, PyObject* args) {
  PyObject *function_id_obj, *args_obj, *meta_obj, *strategy = Py_None;
  const char *name, *actor_name, *ns;
  PyObject *dependencies, *contained, *placement, *lifetime;
  int max_restarts, max_task_retries, max_concurrency, detached, get_if_exists;
  if (!PyArg_ParseTuple(args, "OsOOOO!O!iiissppO|O", &function_id_obj, &name, &args_obj,
                        &dependencies, &contained, &PyDict_Type, &placement, &PyDict_Type,
                        &lifetime, &max_restarts, &max_task_retries, &max_concurrency, &actor_name,
                        &ns, &detached, &get_if_exists, &meta_obj, &strategy)) {
    return nullptr;
  }
  BytesArg function_id, args_blob, meta;
  if (!function_id.Parse(function_id_obj) || !args_blob.Parse(args_obj) || !meta.Parse(meta_obj)) {
    return nullptr;
  }
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  ActorCreation creation;
  creation.task.function_id = function_id.str();
  creation.task.name = name;
  creation.task.args =
      ByteSpan{reinterpret_cast<const uint8_t*>(args_blob.data()), args_blob.size()};
  if (!IdsFromList(dependencies, &creation.task.dependencies) ||
      !RefsFromList(contained, &creation.task.contained, &creation.task.contained_actors) ||
      !ResourcesFromDict(placement, &creation.task.resources) ||
      !ResourcesFromDict(lifetime, &creation.lifetime_resources) ||
      !PlacementFromObject(strategy, &creation.task)) {
    return nullptr;
  }
  creation.max_restarts = max_restarts;
  creation.max_task_retries = max_task_retries;
  creation.max_concurrency = max_concurrency;
  creation.name = actor_name;
  creation.ns = ns;
  creation.detached = detached;
  creation.get_if_exists = get_if_exists;
  creation.handle_meta = meta.str();
  auto created = WithoutGil([&] { return runtime->CreateActor(creation); });
  if (!created.ok()) return RaiseStatus(created.status());
  return ActorLookupToTuple(*created);
}

PyObject* SubmitActorTask(PyObject*, PyObject* args) {
  PyObject *actor_id_obj, *args_obj, *dependencies, *contained;
  const char *method, *name;
  unsigned int num_returns;
  int streaming = 0;
  if (!PyArg_ParseTuple(args, "OssOOOI|p", &actor_id_obj, &method, &name, &args_obj, &dependencies,
                        &contained, &num_returns, &streaming)) {
    return nullptr;
  }
  BytesArg args_blob;
  if (!args_blob.Parse(args_obj)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  TaskSubmission task;
  if (!IdFromBytes(actor_id_obj, &task.actor_id)) return nullptr;
  task.method = method;
  task.name = name;
  task.args = ByteSpan{reinterpret_cast<const uint8_t*>(args_blob.data()), args_blob.size()};
  if (!IdsFromList(dependencies, &task.dependencies) ||
      !RefsFromList(contained, &task.contained, &task.contained_actors)) {
    return nullptr;
  }
  task.num_returns = num_returns;
  task.streaming = streaming != 0;
  auto returns = WithoutGil([&] { return runtime->SubmitTask(task); });
  if (!returns.ok()) return RaiseStatus(returns.status());
  return IdsToList(*returns);
}

PyObject* GetActor(PyObject*, PyObject* args) {
  const char *name, *ns;
  if (!PyArg_ParseTuple(args, "ss", &name, &ns)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  std::string actor_name = name, actor_ns = ns;
  auto found = WithoutGil([&] { return runtime->GetActor(actor_name, actor_ns); });
  if (!found.ok()) return RaiseStatus(found.status());
  return ActorLookupToTuple(*found);
}

// list_named_actors(namespace, all_namespaces) -> [(namespace, name), ...], sorted.
PyObject* ListNamedActors(PyObject*, PyObject* args) {
  const char* ns;
  int all_namespaces;
  if (!PyArg_ParseTuple(args, "sp", &ns, &all_namespaces)) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  std::string actor_ns = ns;
  auto listed = WithoutGil([&] { return runtime->ListNamedActors(actor_ns, all_namespaces); });
  if (!listed.ok()) return RaiseStatus(listed.status());
  PyObject* out = PyList_New(static_cast<Py_ssize_t>(listed->size()));
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < listed->size(); ++i) {
    const auto& [actor_namespace, name] = (*listed)[i];
    PyObject* pair =
        Py_BuildValue("(s#s#)", actor_namespace.data(), (Py_ssize_t)actor_namespace.size(),
                      name.data(), (Py_ssize_t)name.size());
    if (pair == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(out, static_cast<Py_ssize_t>(i), pair);
  }
  return out;
}

PyObject* KillActor(PyObject*, PyObject* args) {
  PyObject* id_obj;
  int no_restart;
  if (!PyArg_ParseTuple(args, "Op", &id_obj, &no_restart)) return nullptr;
  ActorID id;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr || !IdFromBytes(id_obj, &id)) return nullptr;
  Status status = WithoutGil([&] { return runtime->KillActor(id, no_restart); });
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

// set_output_name(name): an actor's worker names its output lines (its __repr__).
PyObject* SetOutputName(PyObject*, PyObject* arg) {
  Py_ssize_t size = 0;
  const char* name = PyUnicode_AsUTF8AndSize(arg, &size);
  if (name == nullptr) return nullptr;
  std::shared_ptr<ClientRuntime> runtime = LiveRuntime();
  if (runtime == nullptr) return nullptr;
  std::string_view view(name, static_cast<size_t>(size));
  Status status = WithoutGil([&] { return runtime->SetOutputName(view); });
  if (!status.ok()) return RaiseStatus(status);
  Py_RETURN_NONE;
}

// Handle counts keep the GIL: they never wait for the node.
PyObject* AddActorRef(PyObject*, PyObject* arg) {
  ActorID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (ClientRuntime* runtime = CurrentRuntime()) runtime->AddActorRef(id);
  Py_RETURN_NONE;
}

PyObject* RemoveActorRef(PyObject*, PyObject* arg) {
  ActorID id;
  if (!IdFromBytes(arg, &id)) return nullptr;
  if (ClientRuntime* runtime = CurrentRuntime()) runtime->RemoveActorRef(id);
  Py_RETURN_NONE;
}

}  // namespace

void AddActorMethods(std::vector<PyMethodDef>* methods) {
  methods->insert(
      methods->end(),
      {
          {"create_actor", Entry<CreateActor>, METH_VARARGS,
           "create_actor(class_id, name, args, deps, contained, placement, lifetime, max_restarts, "
           "max_task_retries, max_concurrency, actor_name, namespace, detached, get_if_exists, "
           "meta, strategy=None) -> (actor_id, meta); strategy as for submit_task"},
          {"submit_actor_task", Entry<SubmitActorTask>, METH_VARARGS,
           "submit_actor_task(actor_id, method, name, args, deps, contained, num_returns, "
           "streaming=False) -> [return ids]"},
          {"get_actor", Entry<GetActor>, METH_VARARGS,
           "get_actor(name, namespace) -> (actor_id, meta)"},
          {"list_named_actors", Entry<ListNamedActors>, METH_VARARGS,
           "list_named_actors(namespace, all_namespaces) -> [(namespace, name), ...] of the live "
           "named actors across the cluster, sorted"},
          {"kill_actor", Entry<KillActor>, METH_VARARGS, "kill_actor(actor_id, no_restart)"},
          {"set_output_name", Entry<SetOutputName>, METH_O,
           "set_output_name(name): this actor's output lines are prefixed with name."},
          {"add_actor_ref", Entry<AddActorRef>, METH_O,
           "This process holds one more handle to the actor."},
          {"remove_actor_ref", Entry<RemoveActorRef>, METH_O,
           "This process holds one handle fewer to the actor."},
      });
}

}  // namespace rayx
