"""The boundary between Python and the engine: what no Python program can do to the process.

- A C++ exception thrown inside an engine call (a test hook throws one with the GIL released, as
  any engine call runs) becomes a Python exception at the call; the process goes on and rayx
  still works.
- rayx.shutdown() while another thread is blocked in get (or wait) wakes that thread with a
  clear error instead of leaving it blocked or using what shutdown freed.
- A get of many values whose total passes a message's limit (3,000 values of 90 KiB each, each
  travelling inline: 270 MB) returns every value intact.
"""

import threading
import time

import _rayx
import rayx


def check_cpp_exceptions_become_python_errors():
    for kind, expected in (("runtime_error", _rayx.EngineError), ("bad_alloc", MemoryError),
                           ("other", _rayx.EngineError)):
        try:
            _rayx._test_raise(kind)
        except expected as error:
            assert kind != "runtime_error" or "raised for a test" in str(error), error
        else:
            raise AssertionError(f"_test_raise({kind!r}) raised nothing")


@rayx.remote
def echo(x):
    return x


@rayx.remote
def sleep_then(x, seconds):
    time.sleep(seconds)
    return x


def check_shutdown_wakes_a_blocked_get():
    ref = sleep_then.remote(1, 60)
    outcome = {}

    def blocked_get():
        try:
            outcome["value"] = rayx.get(ref)
        except Exception as error:  # The one outcome this check accepts, below.
            outcome["error"] = error

    waiter = threading.Thread(target=blocked_get)
    waiter.start()
    time.sleep(0.5)  # Let it block.
    started = time.monotonic()
    rayx.shutdown()
    waiter.join(timeout=10)
    assert not waiter.is_alive(), "a get blocked while rayx shut down never woke"
    assert time.monotonic() - started < 10
    error = outcome.get("error")
    assert error is not None, f"the blocked get returned {outcome!r}"
    assert "shut down" in str(error), f"unclear error for the blocked get: {error!r}"


def check_large_get():
    count, size = 3000, 90 * 1024
    refs = [rayx.put(bytes([i % 251]) * size) for i in range(count)]
    values = rayx.get(refs)
    assert len(values) == count
    for i, value in enumerate(values):
        assert len(value) == size and value[0] == i % 251 and value[-1] == i % 251, i
    # Results of tasks too (they reach the get by the node's path or directly).
    values = rayx.get([echo.remote(bytes([i % 7]) * size) for i in range(300)])
    assert all(v == bytes([i % 7]) * size for i, v in enumerate(values))


def main():
    check_cpp_exceptions_become_python_errors()
    rayx.init(num_cpus=2)
    check_cpp_exceptions_become_python_errors()
    assert rayx.get(echo.remote(3)) == 3  # The engine goes on after them.
    check_large_get()
    check_shutdown_wakes_a_blocked_get()
    rayx.init(num_cpus=1)  # And a fresh start works after that.
    assert rayx.get(echo.remote(4)) == 4
    rayx.shutdown()
    print("boundary: all checks held")


if __name__ == "__main__":
    main()
