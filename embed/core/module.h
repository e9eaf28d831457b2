// The `_rayx` C extension module, compiled into the rayx binary.
//
// embed/interpreter registers PyInit__rayx with PyImport_AppendInittab before the interpreter
// starts, so `import _rayx` works in every rayx process (driver and workers).
#pragma once

#include <Python.h>

extern "C" PyObject* PyInit__rayx(void);
