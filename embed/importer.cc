#include "embed/importer.h"

#include <string>

#include "embed/embedded_files.h"

namespace rayx::embed {
namespace {

const EmbeddedFile* FindArg(PyObject* arg) {
  Py_ssize_t size = 0;
  const char* name = PyUnicode_AsUTF8AndSize(arg, &size);
  if (name == nullptr) return nullptr;
  return FindPackageFile(std::string_view(name, static_cast<size_t>(size)));
}

PyObject* Find(PyObject* /*self*/, PyObject* arg) {
  const EmbeddedFile* file = FindArg(arg);
  if (file == nullptr) {
    if (PyErr_Occurred()) return nullptr;
    Py_RETURN_NONE;
  }
  return Py_BuildValue("(Os)", file->is_package ? Py_True : Py_False, file->path);
}

// FindArg, or nullptr with ImportError set when there is no such module.
const EmbeddedFile* FindOrRaise(PyObject* arg) {
  const EmbeddedFile* file = FindArg(arg);
  if (file == nullptr && !PyErr_Occurred()) {
    PyErr_Format(PyExc_ImportError, "no embedded module named %R", arg);
  }
  return file;
}

PyObject* GetData(PyObject* /*self*/, PyObject* arg) {
  const EmbeddedFile* file = FindOrRaise(arg);
  if (file == nullptr) return nullptr;
  return PyBytes_FromStringAndSize(file->data, static_cast<Py_ssize_t>(file->size));
}

PyObject* GetCode(PyObject* /*self*/, PyObject* arg) {
  const EmbeddedFile* file = FindOrRaise(arg);
  if (file == nullptr) return nullptr;
  if (file->code_size == 0) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize(file->code, static_cast<Py_ssize_t>(file->code_size));
}

PyMethodDef kMethods[] = {
    {"find", Find, METH_O, "find(name) -> (is_package, path) or None for an embedded module."},
    {"get_data", GetData, METH_O, "get_data(name) -> bytes: the source of an embedded module."},
    {"get_code", GetCode, METH_O,
     "get_code(name) -> bytes or None: the build's bytecode magic and marshalled code."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef kModuleDef = {
    PyModuleDef_HEAD_INIT,
    "_rayx_embedded",
    "The rayx package's sources, compiled into rayx.",
    -1,
    kMethods,
};

}  // namespace

extern "C" PyObject* PyInit__rayx_embedded(void) { return PyModule_Create(&kModuleDef); }

Status StatusFromPythonError(const std::string& what) {
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  std::string message = what;
  if (type != nullptr) {
    message += ": ";
    message += reinterpret_cast<PyTypeObject*>(type)->tp_name;
  }
  if (value != nullptr) {
    PyObject* text = PyObject_Str(value);
    const char* utf8 = text != nullptr ? PyUnicode_AsUTF8(text) : nullptr;
    if (utf8 != nullptr) {
      message += ": ";
      message += utf8;
    }
    Py_XDECREF(text);
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(traceback);
  PyErr_Clear();
  return Internal(message);
}

Status InstallImporter() {
  const EmbeddedFile& source = ImporterSource();
  const std::string filename = std::string("<rayx>/") + source.path;
  PyObject* code = Py_CompileString(source.data, filename.c_str(), Py_file_input);
  if (code == nullptr) return StatusFromPythonError("compiling " + filename);
  PyObject* module =
      PyImport_ExecCodeModuleWithPathnames("_rayx_importer", code, filename.c_str(), nullptr);
  Py_DECREF(code);
  if (module == nullptr) return StatusFromPythonError("running " + filename);
  PyObject* result = PyObject_CallMethod(module, "install", nullptr);
  Py_DECREF(module);
  if (result == nullptr) return StatusFromPythonError("installing the rayx importer");
  Py_DECREF(result);
  return Status::OK();
}

}  // namespace rayx::embed
