"""Tests of the public rayx API over the fake engine (tests/fake_rayx.py).

Tasks run synchronously, in this process, through the worker's real task code.
"""

import gc
import os
import pickle
import threading
import unittest

import _setup

import numpy as np

import rayx
from rayx._private import task_args

engine = _setup.engine


@rayx.remote
def add(a, b):
    return a + b


@rayx.remote
def boom():
    raise ValueError("bad value 42")


@rayx.remote(num_returns=3)
def three():
    return 1, 2, 3


@rayx.remote
def first_of(refs):
    assert isinstance(refs[0], rayx.ObjectRef)
    return rayx.get(refs[0])


@rayx.remote
def fib(n):
    if n < 2:
        return n
    return sum(rayx.get([fib.remote(n - 1), fib.remote(n - 2)]))


@rayx.remote
def total(v):
    return float(v.sum()), v.flags.writeable


@rayx.remote(num_gpus=2)
def gpus():
    return rayx.get_gpu_ids(), os.environ["CUDA_VISIBLE_DEVICES"]


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rayx.init(num_cpus=2, num_gpus=2, resources={"accel": 1})

    @classmethod
    def tearDownClass(cls):
        rayx.shutdown()

    def test_init_twice(self):
        with self.assertRaises(RuntimeError):
            rayx.init()
        rayx.init(ignore_reinit_error=True)
        self.assertTrue(rayx.is_initialized())
        self.assertEqual(engine.node_args[:3], (2.0, 2.0, {"accel": 1.0}))
        with self.assertRaises(TypeError):
            rayx.init(ignore_reinit_error=True, no_such_argument=1)

    def test_tasks_and_refs(self):
        ref = add.remote(1, 2)
        self.assertIsInstance(ref, rayx.ObjectRef)
        self.assertEqual(rayx.get(ref), 3)
        refs = [add.remote(i, i) for i in range(20)]
        self.assertEqual(rayx.get(refs), [2 * i for i in range(20)])
        x = add.remote(1, 1)
        y = add.remote(x, 10)
        self.assertEqual(rayx.get(add.remote(x, y)), 14)
        self.assertEqual(rayx.get(add.remote(rayx.put(5), b=5)), 10)
        self.assertEqual(rayx.get(first_of.remote([rayx.put(7)])), 7)
        self.assertEqual(rayx.get(fib.remote(6)), 8)
        a, b, c = three.remote()
        self.assertEqual(rayx.get([c, b, a]), [3, 2, 1])
        self.assertEqual(rayx.get(add.options(num_cpus=1, name="renamed").remote(2, 3)), 5)
        self.assertEqual(engine.submitted[-1]["name"], "renamed")

    def test_functions_export_once(self):
        before = len(engine.exports)
        rayx.get([add.remote(1, 2) for _ in range(3)])
        self.assertLessEqual(len(engine.exports) - before, 1)

    def test_functions_export_again_after_reconnecting(self):
        @rayx.remote
        def seven():
            return 7

        self.assertEqual(rayx.get(seven.remote()), 7)
        exported = list(engine.exports)
        rayx.shutdown()
        rayx.init(num_cpus=2, num_gpus=2, resources={"accel": 1})
        self.assertEqual(rayx.get(seven.remote()), 7)
        self.assertEqual(engine.exports[len(exported):], [seven._function_id])

    def test_dependencies_and_contained(self):
        r = rayx.put(1)
        nested = rayx.put(2)
        add.remote(r, [nested])  # The task fails (int + list): only the spec matters here.
        spec = engine.submitted[-1]
        self.assertEqual(spec["dependencies"], [r.binary()])
        self.assertEqual(spec["contained"], [nested.binary()])
        add.remote(r, r)
        self.assertEqual(engine.submitted[-1]["dependencies"], [r.binary()])

    def test_large_argument_is_put_first(self):
        arr = np.arange(1_000_000, dtype=np.float64)
        self.assertEqual(rayx.get(total.remote(arr)), (float(arr.sum()), False))
        spec = engine.submitted[-1]
        self.assertEqual(len(spec["dependencies"]), 1)
        self.assertLess(len(spec["args_blob"]), 1000)
        small = np.arange(10)
        self.assertEqual(rayx.get(total.remote(small))[0], 45.0)
        self.assertEqual(engine.submitted[-1]["dependencies"], [])

    def test_put_get_numpy_zero_copy(self):
        arr = np.arange(1000, dtype=np.int64)
        out = rayx.get(rayx.put(arr))
        self.assertTrue(np.array_equal(out, arr))
        self.assertFalse(out.flags.writeable)

    def test_errors(self):
        for failing in (boom.remote(), add.remote(boom.remote(), 1)):
            with self.assertRaises(ValueError) as caught:
                rayx.get(failing)
            err = caught.exception
            self.assertIsInstance(err, rayx.exceptions.RayTaskError)
            self.assertIn("bad value 42", str(err))
            self.assertIn("boom", str(err))
            self.assertNotIn("worker_main", str(err))

    def test_error_through_a_nested_get(self):
        @rayx.remote
        def outer():
            return rayx.get(boom.remote())

        with self.assertRaises(ValueError) as caught:
            rayx.get(outer.remote())
        self.assertIn("outer", str(caught.exception))
        self.assertIn("bad value 42", str(caught.exception))

    def test_retry_exceptions(self):
        # Tasks get copies of closures (cloudpickle): count attempts through a file.
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rayx-flaky-{os.getpid()}")
        if os.path.exists(path):
            os.remove(path)

        @rayx.remote(max_retries=2, retry_exceptions=[KeyError])
        def flaky_file(p, exc):
            n = 0
            if os.path.exists(p):
                with open(p) as f:
                    n = int(f.read())
            with open(p, "w") as f:
                f.write(str(n + 1))
            if n < 2:
                raise exc("again")
            return n

        self.assertEqual(rayx.get(flaky_file.remote(path, KeyError)), 2)
        os.remove(path)
        with self.assertRaises(IndexError):  # Not a listed type: no retry.
            rayx.get(flaky_file.remote(path, IndexError))
        os.remove(path)
        with self.assertRaises(KeyError):  # Retries run out.
            rayx.get(flaky_file.options(max_retries=1).remote(path, KeyError))
        os.remove(path)

    def test_wait_and_cancel(self):
        @rayx.remote
        def value(v):
            return v

        slow = value.options(name="pending-slow").remote("slow")
        fast = value.remote("fast")
        other = value.remote("other")
        ready, not_ready = rayx.wait([slow, fast, other], num_returns=1, timeout=1)
        self.assertEqual((ready, not_ready), ([fast], [slow, other]))
        ready, not_ready = rayx.wait([slow, other, fast], num_returns=2)
        self.assertEqual((ready, not_ready), ([other, fast], [slow]))
        with self.assertRaises(rayx.exceptions.GetTimeoutError):
            rayx.get(slow, timeout=0.1)
        with self.assertRaises(TimeoutError):
            rayx.get(slow, timeout=0.1)
        rayx.cancel(slow)
        with self.assertRaises(rayx.exceptions.TaskCancelledError):
            rayx.get(slow, timeout=10)
        with self.assertRaises(ValueError):
            rayx.wait([fast, fast])
        with self.assertRaises(ValueError):
            rayx.wait([fast], num_returns=2)
        with self.assertRaises(TypeError):
            rayx.wait(fast)
        self.assertEqual(rayx.wait([]), ([], []))
        with self.assertRaises(TypeError):
            rayx.cancel("not a ref")

    def test_misuse(self):
        with self.assertRaisesRegex(TypeError, r"add\.remote\(\)"):
            add(1, 2)
        with self.assertRaisesRegex(ValueError, "bogus"):
            add.options(bogus=1)
        with self.assertRaisesRegex(ValueError, "num_cpus"):
            add.options(num_cpus=-1)
        with self.assertRaisesRegex(ValueError, "bogus"):
            rayx.remote(bogus=1)(lambda: None)
        with self.assertRaises(TypeError):
            rayx.put(rayx.put(1))
        with self.assertRaises(ValueError):
            rayx.get((rayx.put(1),))
        @rayx.remote
        class Actor:
            pass

        self.assertIsInstance(Actor, rayx.ActorClass)
        with self.assertRaisesRegex(TypeError, "Actor.remote"):
            Actor()
        with self.assertRaisesRegex(ValueError, "num_returns"):
            rayx.remote(num_returns=2)(Actor._cls)

    def test_unpicklable_argument_is_named(self):
        lock = threading.Lock()
        with self.assertRaisesRegex(TypeError, r"argument 1 .*lock"):
            add.remote(1, lock)
        with self.assertRaisesRegex(TypeError, r"keyword argument 'b' .*lock"):
            add.remote(1, b=lock)

    def test_gpu_ids_and_context(self):
        ids, visible = rayx.get(gpus.remote())
        self.assertEqual((ids, visible), ([0, 1], "0,1"))
        ctx = rayx.get_runtime_context()
        self.assertEqual(ctx.get_job_id(), "01" * 4)
        self.assertEqual(ctx.get_node_id(), "02" * 28)
        self.assertEqual(rayx.cluster_resources()["accel"], 1)
        self.assertTrue(rayx.nodes()[0]["Alive"])

    def test_refs_are_counted(self):
        gc.collect()
        ref = rayx.put("x")
        object_id = ref.binary()
        self.assertEqual(engine.refs[object_id], 1)
        copy = pickle.loads(pickle.dumps(ref))
        self.assertEqual(engine.refs[object_id], 2)
        self.assertEqual(copy, ref)
        self.assertEqual(hash(copy), hash(ref))
        self.assertEqual(repr(ref), f"ObjectRef({ref.hex()})")
        del ref, copy
        self.assertEqual(engine.refs[object_id], 0)

    def test_ray_alias_is_not_needed_here(self):
        # `import ray` is served by embed/importer.py inside the binary; nothing to test here.
        self.assertIs(rayx.exceptions.RayTaskError, task_args.serialization.exceptions.RayTaskError)


if __name__ == "__main__":
    unittest.main()
