// The `_rayx` C extension module, compiled into the rayx binary.
//
// embed/interpreter registers PyInit__rayx with PyImport_AppendInittab before the interpreter
// starts, so `import _rayx` works in every rayx process (driver and workers).
#pragma once

#include <Python.h>

#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"

extern "C" PyObject* PyInit__rayx(void);

namespace rayx {

// Connects this process to its node as the worker with worker_id (the worker subcommand).
// REQUIRES: the GIL is held.
Status ConnectWorker(const std::string& socket_path, const WorkerID& worker_id);

}  // namespace rayx
