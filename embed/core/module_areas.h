// The `_rayx` module's entry points, by area; module.cc puts them in one method table.
//   module_runtime.cc  the embedded node, connecting and disconnecting, the context and the
//                      cluster's resources;
//   module_objects.cc  puts, gets, waits, references and the object store's figures;
//   module_tasks.cc    function exports, task submission, cancellation, and a worker's tasks;
//   module_actors.cc   actor creation, calls, lookups, kills and handle counts;
//   module_placement_groups.cc  placement group requests.
#pragma once

#include <Python.h>

#include <vector>

namespace rayx {

void AddRuntimeMethods(std::vector<PyMethodDef>* methods);
void AddObjectMethods(std::vector<PyMethodDef>* methods);
void AddTaskMethods(std::vector<PyMethodDef>* methods);
void AddActorMethods(std::vector<PyMethodDef>* methods);
void AddPlacementGroupMethods(std::vector<PyMethodDef>* methods);

// In a forked child: forgets the embedded node without stopping it (it is the parent's).
void ForgetNodeInForkedChild();

}  // namespace rayx
