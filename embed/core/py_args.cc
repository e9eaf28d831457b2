#include "embed/core/py_args.h"

#include <climits>
#include <cmath>
#include <cstring>

namespace rayx {

BytesArg::~BytesArg() {
  if (view_.obj != nullptr) PyBuffer_Release(&view_);
}

bool BytesArg::Parse(PyObject* obj) {
  if (PyBytes_Check(obj)) {
    data_ = PyBytes_AS_STRING(obj);
    size_ = PyBytes_GET_SIZE(obj);
    return true;
  }
  if (PyUnicode_Check(obj) || PyObject_GetBuffer(obj, &view_, PyBUF_SIMPLE) != 0) {
    view_.obj = nullptr;
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "a bytes-like object is required, not '%.100s'",
                 Py_TYPE(obj)->tp_name);
    return false;
  }
  data_ = static_cast<const char*>(view_.buf);
  size_ = view_.len;
  return true;
}

const char* StringArg(PyObject* obj, Py_ssize_t* size) {
  if (!PyUnicode_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "a str is required, not '%.100s'", Py_TYPE(obj)->tp_name);
    return nullptr;
  }
  const char* text = PyUnicode_AsUTF8AndSize(obj, size);
  if (text != nullptr && strlen(text) != static_cast<size_t>(*size)) {
    PyErr_SetString(PyExc_ValueError, "embedded null character");
    return nullptr;
  }
  return text;
}

bool IntArg(PyObject* obj, int* out) {
  long value = PyLong_AsLong(obj);
  if (value == -1 && PyErr_Occurred()) return false;
  if (value < INT_MIN || value > INT_MAX) {
    PyErr_SetString(PyExc_OverflowError, "signed integer is out of range for a C int");
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

bool ResourcesFromDict(PyObject* dict, std::map<std::string, double>* out) {
  if (!PyDict_Check(dict)) {
    PyErr_SetString(PyExc_TypeError, "resources must be a dict");
    return false;
  }
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    const char* resource = PyUnicode_AsUTF8(key);
    if (resource == nullptr) return false;
    double amount = PyFloat_AsDouble(value);
    if (amount == -1.0 && PyErr_Occurred()) return false;
    (*out)[resource] = amount;
  }
  return true;
}

bool TimeoutMs(PyObject* timeout, int64_t* out) {
  if (timeout == Py_None) {
    *out = -1;
    return true;
  }
  double seconds = PyFloat_AsDouble(timeout);
  if (seconds == -1.0 && PyErr_Occurred()) return false;
  if (!(seconds > 0)) {  // Negative or NaN.
    *out = 0;
    return true;
  }
  // Capped at about 30 years, so that a deadline computed from it never overflows.
  constexpr double kMaxMs = 1e12;
  double ms = std::ceil(seconds * 1000);
  *out = static_cast<int64_t>(ms > kMaxMs ? kMaxMs : ms);
  return true;
}

}  // namespace rayx
