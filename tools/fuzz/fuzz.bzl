"""fuzz_test: one libFuzzer target (a source with LLVMFuzzerTestOneInput) and its seed corpus."""

def fuzz_test(name, srcs, deps, corpus, seconds = 3, size = "small", tags = []):
    """A cc_test that fuzzes for `seconds` in the suite; a libFuzzer binary under --config=fuzz.

    Args:
      name: the target's name, ending in _fuzz_test.
      srcs: the sources, one of which defines LLVMFuzzerTestOneInput.
      deps: what they use.
      corpus: a filegroup of the seed inputs (testdata/fuzz/<target>/).
      seconds: how long the suite mutates the seeds (the gcc build's driver).
      size: the test's size.
      tags: the test's tags.
    """
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs,
        deps = deps + select({
            "//tools/fuzz:libfuzzer": [],
            "//conditions:default": ["//tools/fuzz:fuzz_driver"],
        }),
        linkopts = select({
            "//tools/fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        data = [corpus],
        # The driver mutates the seeds for a while; libFuzzer given files runs each once.
        args = select({
            "//tools/fuzz:libfuzzer": [],
            "//conditions:default": ["--mutate", "--seconds=%d" % seconds],
        }) + ["$(locations %s)" % corpus],
        tags = tags,
    )
