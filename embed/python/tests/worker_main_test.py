"""Tests of the worker's task loop (rayx._private.worker_main) with scripted next_task calls."""

import os
import signal
import time
import unittest

import _setup

import rayx
from rayx._private import serialization, task_args, worker_main
from rayx._private.serialization import SYSTEM_ERROR, TASK_ERROR, VALUE

engine = _setup.engine


def _task(function, *args, task_id=b"t1", send_blob=True, return_ids=(b"r1",), retries=0,
          gpus=(), dependency_values=(), retry_exceptions=False, name="fn"):
    function_id, blob = serialization.serialize_function(function)
    encoded = task_args.encode_args(name, args, {}, retry_exceptions, None)
    return (task_id, function_id, blob if send_blob else None, name, encoded.blob,
            list(dependency_values), list(return_ids), retries, list(gpus))


class WorkerMainTest(unittest.TestCase):
    def setUp(self):
        import _rayx

        self.module = _rayx
        self.done = []
        # Task ids the fake engine says were cancelled; on _rayx, so that a task's function (a
        # copy, by cloudpickle) adds to the same set.
        self.cancelled = _rayx._test_cancelled = set()
        _rayx.task_done = lambda *report: self.done.append(report)
        _rayx.task_cancelled = lambda task_id, wait=True: task_id in self.cancelled

    def tearDown(self):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        del self.module.task_done
        del self.module.task_cancelled
        del self.module._test_cancelled
        if hasattr(self.module, "next_task"):
            del self.module.next_task

    def run_loop(self, steps):
        """Runs main() over steps: each a task tuple, or a callable run inside next_task."""
        steps = list(steps)

        def next_task():
            while steps:
                step = steps.pop(0)
                if callable(step):
                    step()
                    continue
                return step
            return None

        self.module.next_task = next_task
        worker_main.main()

    def test_runs_tasks_and_caches_functions(self):
        def double(x):
            return 2 * x

        first = _task(double, 4)
        again = _task(double, 5, task_id=b"t2", send_blob=False)
        self.run_loop([first, again])
        values = [serialization.deserialize(*r[1][0][:3]) for r in self.done]
        self.assertEqual(values, [8, 10])
        self.assertEqual([r[0] for r in self.done], [b"t1", b"t2"])

    def test_dependency_values_replace_placeholders(self):
        def add(a, b):
            return a + b

        task = list(_task(add, 0, 0))
        task[4] = serialization.pickle.dumps(
            (task_args.ARGS_FORMAT, (task_args.DependencyArg(0), task_args.DependencyArg(0)), {},
             False), protocol=5)
        s = serialization.serialize(21)
        task[5] = [(VALUE, s.data, s.buffers)]
        self.run_loop([tuple(task)])
        self.assertEqual(serialization.deserialize(*self.done[0][1][0][:3]), 42)

    def test_failed_dependency_passes_through(self):
        task = list(_task(lambda a: a, 0))
        task[4] = serialization.pickle.dumps(
            (task_args.ARGS_FORMAT, (task_args.DependencyArg(0),), {}, False), protocol=5)
        task[5] = [(SYSTEM_ERROR, "WORKER_DIED: gone", [])]
        self.run_loop([tuple(task)])
        self.assertEqual(self.done[0][1], [(SYSTEM_ERROR, "WORKER_DIED: gone", [], [])])

    def test_errors_and_retry_flag(self):
        def fail(kind):
            raise kind("nope")

        self.run_loop([
            _task(fail, KeyError, retries=1, retry_exceptions=(KeyError,)),
            _task(fail, ValueError, retries=1, retry_exceptions=(KeyError,)),
            _task(fail, KeyError, retries=0, retry_exceptions=True),
        ])
        self.assertEqual([r[2] for r in self.done], [True, False, False])
        kind, data, _, _ = self.done[0][1][0]
        self.assertEqual(kind, TASK_ERROR)
        with self.assertRaises(KeyError) as caught:
            serialization.deserialize(kind, data, [])
        self.assertIn("in fail", str(caught.exception))

    def test_num_returns_mismatch_is_an_error(self):
        self.run_loop([_task(lambda: (1, 2), return_ids=(b"a", b"b", b"c"))])
        self.assertEqual(self.done[0][1][0][0], TASK_ERROR)

    def test_sigint_cancels_a_running_task_and_is_ignored_when_idle(self):
        def sleepy():
            import _rayx

            _rayx._test_cancelled.add(b"t1")  # The engine names the task, then signals.
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            return "finished"

        def quick():
            return "quick"

        idle_sigint = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
        self.run_loop([_task(sleepy), idle_sigint, _task(quick, task_id=b"t2")])
        kind, text, _, _ = self.done[0][1][0]
        self.assertEqual(kind, SYSTEM_ERROR)
        self.assertTrue(text.startswith("TASK_CANCELLED: "), text)
        self.assertEqual(serialization.deserialize(*self.done[1][1][0][:3]), "quick")

    def test_sigint_before_the_code_starts_cancels_only_the_task_it_was_for(self):
        def quick():
            return "quick"

        def cancel(task_id):
            def step():
                self.cancelled.add(task_id)
                os.kill(os.getpid(), signal.SIGINT)  # While "in next_task": no user code runs.
            return step

        stray_sigint = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
        self.run_loop([
            cancel(b"t1"), _task(quick, task_id=b"t1"),  # The cancel raced the task's start.
            stray_sigint, _task(quick, task_id=b"t2"),   # A late signal for a task that ended.
        ])
        kind, text, _, _ = self.done[0][1][0]
        self.assertEqual(kind, SYSTEM_ERROR)
        self.assertTrue(text.startswith("TASK_CANCELLED: "), text)
        self.assertEqual(serialization.deserialize(*self.done[1][1][0][:3]), "quick")

    def test_sigint_for_no_running_task_does_not_stop_it(self):
        def busy():
            os.kill(os.getpid(), signal.SIGINT)  # Late, for a task that ended (t1 not cancelled).
            time.sleep(0.2)
            return "finished"

        self.run_loop([_task(busy)])
        self.assertEqual(serialization.deserialize(*self.done[0][1][0][:3]), "finished")

    def test_task_cancelled_before_it_came_does_not_run(self):
        ran = []

        def record():
            ran.append(True)
            return "ran"

        task = _task(record, task_id=b"t1") + (False, "", 0, True)  # ..., cancelled
        self.run_loop([task])
        self.assertEqual(ran, [])
        self.assertTrue(self.done[0][1][0][1].startswith("TASK_CANCELLED: "))

    def test_gpu_ids(self):
        def ids():
            return rayx.get_gpu_ids(), os.environ["CUDA_VISIBLE_DEVICES"]

        self.run_loop([_task(ids, gpus=[1, 3]), _task(ids, task_id=b"t2")])
        results = [serialization.deserialize(*r[1][0][:3]) for r in self.done]
        self.assertEqual(results, [([1, 3], "1,3"), ([], "")])


class TaskArgsTest(unittest.TestCase):
    """encode_args's short path for builtin scalars and its way back to the general one."""

    def test_scalars_round_trip(self):
        for args, retry in [((), False), ((1, "x", 2.5, None, b"b", True), True)]:
            encoded = task_args.encode_args("fn", args, {}, retry, None)
            self.assertEqual((encoded.dependencies, encoded.contained), ([], []))
            self.assertEqual(task_args.decode_args(encoded.blob, []), (args, {}, retry))

    def test_plain_args_blob_is_the_args_format(self):
        # The short path writes exactly what the general encoder decodes; other calls get None.
        for args, retry in [((), False), ((), True), ((7, "y"), False)]:
            blob = task_args.plain_args_blob(args, {}, retry)
            self.assertEqual(task_args.decode_args(blob, []), (args, {}, retry))
            self.assertEqual(task_args.decode_args(bytearray(blob), []), (args, {}, retry))
        self.assertIsNone(task_args.plain_args_blob((), {"k": 1}, False))
        self.assertIsNone(task_args.plain_args_blob(([1],), {}, False))
        self.assertIsNone(task_args.plain_args_blob((), {}, (ValueError,)))
        # A call without arguments always gets the same blob.
        self.assertIs(task_args.plain_args_blob((), {}, False),
                      task_args.plain_args_blob([], {}, False))

    def test_large_scalar_is_put(self):
        puts = []

        def put(value):
            puts.append(value)
            return rayx.ObjectRef(b"p" * 28)

        big = "x" * (serialization.INLINE_THRESHOLD + 1)
        encoded = task_args.encode_args("fn", (big, 1), {}, False, put)
        self.assertEqual(len(puts), 1)
        self.assertEqual(len(encoded.dependencies), 1)
        self.assertLess(len(encoded.blob), 1000)
        value = (VALUE, puts[0].data, puts[0].buffers)
        self.assertEqual(task_args.decode_args(encoded.blob, [value]), ((big, 1), {}, False))

    def test_buffered_output_is_flushed_after_each_task(self):
        import io
        import sys

        class Counting(io.StringIO):
            flushes = 0

            def flush(self):
                Counting.flushes += 1

        raw = io.TextIOWrapper(io.FileIO(os.devnull, "w"), write_through=True)
        saved = sys.stdout, sys.stderr
        try:
            sys.stdout, sys.stderr = raw, Counting()
            worker_main._note_direct_streams()
            self.assertEqual(worker_main._direct_streams, (raw,))
            worker_main._flush()
            self.assertEqual(Counting.flushes, 1)  # The raw stdout needs none.
            sys.stdout = Counting()  # Replaced by user code: flushed again.
            worker_main._flush()
            self.assertEqual(Counting.flushes, 3)
            worker_main.execute_task(_task(lambda: print("out")))  # A task's output: flushed.
            self.assertEqual(Counting.flushes, 5)
            sys.stdout = sys.stderr = raw
            worker_main._note_direct_streams()
            worker_main.execute_task(_task(lambda: print("out")))  # Both direct: no flush.
            self.assertEqual(Counting.flushes, 5)
        finally:
            sys.stdout, sys.stderr = saved
            worker_main._direct_streams = ()
            worker_main._direct_stdout = worker_main._direct_stderr = None
            raw.close()

    def test_gpu_ids_write_the_environment_only_on_change(self):
        worker_main.set_gpu_ids([0])
        self.assertEqual(os.environ["CUDA_VISIBLE_DEVICES"], "0")
        worker_main.set_gpu_ids([])
        self.assertEqual(os.environ["CUDA_VISIBLE_DEVICES"], "")
        self.assertEqual(rayx.get_gpu_ids(), [])


if __name__ == "__main__":
    unittest.main()
