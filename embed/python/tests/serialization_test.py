"""Tests of rayx._private.serialization and ObjectRef pickling (no engine needed)."""

import pickle
import unittest

import _setup

import numpy as np

from rayx import exceptions
from rayx._private import serialization
from rayx._private.serialization import SYSTEM_ERROR, TASK_ERROR, VALUE
from rayx.object_ref import ObjectRef

engine = _setup.engine


def round_trip(value):
    s = serialization.serialize(value)
    buffers = engine._copy_buffers(s.buffers)  # Read-only copies, as the engine gives back.
    return serialization.deserialize(VALUE, memoryview(s.data), buffers), s


class SerializationTest(unittest.TestCase):
    def test_plain_values(self):
        for value in [None, True, 3, 2.5, "text", b"bytes", (1, "a"), {"k": {1, 2}},
                      list(range(1000)), np.float32(1.5)]:
            self.assertEqual(round_trip(value)[0], value)

    def test_numpy_goes_out_of_band_and_comes_back_read_only(self):
        arr = np.arange(100_000, dtype=np.float64)
        out, s = round_trip(arr)
        self.assertEqual(len(s.buffers), 1)
        self.assertLess(len(s.data), 1000)
        self.assertTrue(np.array_equal(out, arr))
        self.assertFalse(out.flags.writeable)

    def test_in_band_when_asked(self):
        s = serialization.serialize(np.ones(10), out_of_band=False)
        self.assertEqual(s.buffers, [])
        self.assertTrue(np.array_equal(pickle.loads(s.data), np.ones(10)))

    def test_lambdas_and_local_classes(self):
        class Local:
            def __init__(self, x):
                self.x = x

        fn, _ = round_trip(lambda v: v + 1)
        self.assertEqual(fn(1), 2)
        obj, _ = round_trip(Local(5))
        self.assertEqual(obj.x, 5)

    def test_unpicklable_raises(self):
        import threading

        with self.assertRaises(TypeError):
            serialization.serialize(threading.Lock())
        self.assertIn("lock", serialization.describe_unpicklable(threading.Lock()))
        self.assertIsNone(serialization.describe_unpicklable([1]))

    def test_contained_refs_are_recorded_and_rebuilt(self):
        a, b = ObjectRef(b"a" * 28), ObjectRef(b"b" * 28)
        s = serialization.serialize({"x": [a, b, a]})
        self.assertEqual(s.contained, [a.binary(), b.binary()])
        before = engine.refs[a.binary()]
        out = serialization.deserialize(VALUE, s.data, [])
        self.assertEqual(out["x"], [a, b, a])
        self.assertIsInstance(out["x"][0], ObjectRef)
        self.assertEqual(engine.refs[a.binary()], before + 1)  # One new ref, memoized by pickle.
        del out
        self.assertEqual(engine.refs[a.binary()], before)

    def test_custom_reducers_apply_to_the_exact_class_and_keep_refs_recorded(self):
        import threading

        class Locked:
            def __init__(self, ref):
                self.ref, self.lock = ref, threading.Lock()

        class Sub(Locked):
            pass

        ref = ObjectRef(b"d" * 28)
        serialization.register_reducer(Locked, lambda o: (Locked, (o.ref,)))
        try:
            s = serialization.serialize([Locked(ref), 1])
            self.assertEqual(s.contained, [ref.binary()])  # Refs inside the reduced state count.
            out = serialization.deserialize(VALUE, s.data, [])
            self.assertIsInstance(out[0], Locked)
            self.assertEqual(out[0].ref, ref)
            with self.assertRaises(TypeError):  # Only the exact class: a subclass is as before.
                serialization.serialize(Sub(ref))
        finally:
            serialization.unregister_reducer(Locked)
        with self.assertRaises(TypeError):
            serialization.serialize(Locked(ref))
        serialization.unregister_reducer(Locked)  # Again: no effect.

    def test_plain_pickle_of_a_ref_records_nothing(self):
        ref = ObjectRef(b"c" * 28)
        self.assertEqual(pickle.loads(pickle.dumps(ref)), ref)

    def test_nested_serialization_keeps_its_own_list(self):
        ref = ObjectRef(b"d" * 28)

        class Inner:
            def __reduce__(self):
                serialization.serialize([ObjectRef(b"e" * 28)])
                return (list, ())

        s = serialization.serialize([ref, Inner()])
        self.assertEqual(s.contained, [ref.binary()])

    def test_system_errors_map_to_classes(self):
        cases = {
            "WORKER_DIED": exceptions.WorkerCrashedError,
            "TASK_CANCELLED": exceptions.TaskCancelledError,
            "OBJECT_LOST": exceptions.ObjectLostError,
            "ACTOR_DIED": exceptions.ActorDiedError,
            "OWNER_DIED": exceptions.OwnerDiedError,
            "SOMETHING_NEW": exceptions.RaySystemError,
        }
        for code, cls in cases.items():
            with self.assertRaises(cls) as caught:
                serialization.deserialize(SYSTEM_ERROR, f"{code}: it happened", [], b"\x07")
            self.assertIsInstance(caught.exception, exceptions.RayError)
        with self.assertRaises(exceptions.RayActorError):
            serialization.deserialize(SYSTEM_ERROR, "ACTOR_DIED: gone", [])

    def test_task_error_value(self):
        err = exceptions.RayTaskError("boom", "Traceback...\nValueError: bad", ValueError("bad"))
        data = serialization.serialize(err).data
        with self.assertRaises(ValueError) as caught:
            serialization.deserialize(TASK_ERROR, data, [])
        self.assertIsInstance(caught.exception, exceptions.RayTaskError)

    def test_function_ids_are_stable(self):
        def f(x):
            return x * 2

        fid, blob = serialization.serialize_function(f)
        self.assertEqual(fid, serialization.serialize_function(f)[0])
        self.assertEqual(serialization.deserialize_function(blob)(4), 8)


if __name__ == "__main__":
    unittest.main()
