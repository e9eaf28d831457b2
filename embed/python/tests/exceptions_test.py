"""Tests of rayx.exceptions (no engine needed)."""

import pickle
import unittest

import _setup  # noqa: F401  (puts rayx on sys.path)

from rayx import exceptions


class CustomError(Exception):
    def __init__(self, code):
        super().__init__(f"code {code}")
        self.code = code


class ExceptionsTest(unittest.TestCase):
    def test_dual_class(self):
        err = exceptions.RayTaskError("boom", "  File x, in boom\nValueError: 42", ValueError("42"))
        dual = err.as_instanceof_cause()
        self.assertIsInstance(dual, ValueError)
        self.assertIsInstance(dual, exceptions.RayTaskError)
        self.assertIsInstance(dual, exceptions.RayError)
        self.assertIn("in boom", str(dual))
        self.assertIn("ray::boom()", str(dual))
        self.assertIs(type(dual), type(err.as_instanceof_cause()))  # Classes are cached.

    def test_attributes_of_the_cause(self):
        dual = exceptions.RayTaskError("f", "tb", CustomError(7)).as_instanceof_cause()
        self.assertIsInstance(dual, CustomError)
        self.assertEqual(dual.code, 7)
        self.assertEqual(dual.cause.code, 7)

    def test_pickles_back_to_the_plain_class(self):
        dual = exceptions.RayTaskError("f", "tb", KeyError("k")).as_instanceof_cause()
        back = pickle.loads(pickle.dumps(dual))
        self.assertIs(type(back), exceptions.RayTaskError)
        self.assertIsInstance(back.as_instanceof_cause(), KeyError)

    def test_without_cause(self):
        err = exceptions.RayTaskError("f", "tb", None)
        self.assertIs(err.as_instanceof_cause(), err)

    def test_hierarchy(self):
        self.assertTrue(issubclass(exceptions.GetTimeoutError, TimeoutError))
        self.assertTrue(issubclass(exceptions.ActorDiedError, exceptions.RayActorError))
        self.assertTrue(issubclass(exceptions.OwnerDiedError, exceptions.ObjectLostError))
        for name in exceptions.__all__:
            obj = getattr(exceptions, name)
            if isinstance(obj, type):
                self.assertTrue(issubclass(obj, exceptions.RayError), name)

    def test_every_error_pickles(self):
        for err in [exceptions.TaskCancelledError(b"x"), exceptions.WorkerCrashedError("m"),
                    exceptions.ObjectLostError("ab", "m"), exceptions.OwnerDiedError("ab", "m"),
                    exceptions.ActorDiedError("m"), exceptions.RaySystemError("m"),
                    exceptions.GetTimeoutError("t")]:
            back = pickle.loads(pickle.dumps(err))
            self.assertIs(type(back), type(err))
            self.assertEqual(str(back), str(err))


if __name__ == "__main__":
    unittest.main()
