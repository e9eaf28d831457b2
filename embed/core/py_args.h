// Argument conversions shared by the `_rayx` entry points. Each returns false (or null) with a
// Python exception set when the argument is not what it must be. Every function requires the GIL.
#pragma once

#include <Python.h>

#include <cstdint>
#include <map>
#include <string>

namespace rayx {

// A bytes-like argument: borrowed from a bytes object, or held through the buffer protocol.
class BytesArg {
 public:
  BytesArg() { view_.obj = nullptr; }
  ~BytesArg();
  BytesArg(const BytesArg&) = delete;
  BytesArg& operator=(const BytesArg&) = delete;

  // False with TypeError set when obj is not bytes-like.
  bool Parse(PyObject* obj);
  const char* data() const { return data_; }
  size_t size() const { return static_cast<size_t>(size_); }
  std::string str() const { return std::string(data_, size()); }

 private:
  Py_buffer view_;
  const char* data_ = nullptr;
  Py_ssize_t size_ = 0;
};

// A str argument as UTF-8 without NUL characters (as PyArg_ParseTuple's "s"); null on error.
const char* StringArg(PyObject* obj, Py_ssize_t* size);
// An int argument that fits a C int (as PyArg_ParseTuple's "i"); false on error.
bool IntArg(PyObject* obj, int* out);
// A dict of resource names to amounts.
bool ResourcesFromDict(PyObject* dict, std::map<std::string, double>* out);
// A timeout in seconds (None: none, as -1) in whole milliseconds, rounded up; negative is 0.
bool TimeoutMs(PyObject* timeout, int64_t* out);

}  // namespace rayx
