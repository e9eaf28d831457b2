// Placeholder for the `_rayx` extension module: an empty module until the engine is wired in.
#include "embed/core/module.h"

namespace {

PyModuleDef kModuleDef = {
    PyModuleDef_HEAD_INIT,
    "_rayx",
    "The rayx engine's Python bindings (placeholder: no functions yet).",
    -1,
    nullptr,
};

}  // namespace

extern "C" PyObject* PyInit__rayx(void) { return PyModule_Create(&kModuleDef); }
