// LeakSanitizer's suppressions for `--config=asan` (.bazelrc), compiled into every test binary
// (through //tools/deps:gtest_main and gtest) and into the rayx binary, so that a test run from
// any directory, and the workers a node spawns, find them. Only libraries rayx does not own.
// Debian's libraries are built without frame pointers: a leak's stack ends in the library that
// allocated it, and each line matches that library. In a build without LSan nothing calls this.
extern "C" const char* __lsan_default_suppressions() {
  return
      // CPython 3.11 does not free everything at Py_FinalizeEx (interned strings, static types,
      // the state of extension modules, which it cannot unload); the embedded interpreter ends
      // with it.
      "leak:libpython3.11.so\n"
      // numpy's C extension allocates its module state once and never frees it.
      "leak:_multiarray_umath\n"
      // The block cache and column families of the process's lineage log: the log is used until
      // exit and never closed (engine/node/lineage_recorder.cc, ProcessState), and LSan does not
      // follow RocksDB's own pointers to these cache-line aligned blocks.
      "leak:librocksdb.so\n";
}
