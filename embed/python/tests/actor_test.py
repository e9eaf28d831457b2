"""Tests of the pure parts of rayx.actor: resource requests, class metadata, method options."""

import unittest

import _setup  # noqa: F401  (puts rayx on sys.path)

import rayx
from rayx import actor


class ActorResourcesTest(unittest.TestCase):
    def test_default_actor_takes_a_cpu_to_be_placed_only(self):
        self.assertEqual(actor.actor_resources({}), ({"CPU": 1.0}, {}))

    def test_explicit_resources_are_held_for_life(self):
        placement, lifetime = actor.actor_resources({"num_cpus": 2, "resources": {"accel": 1}})
        self.assertEqual(placement, {"CPU": 2.0, "accel": 1.0})
        self.assertEqual(lifetime, placement)

    def test_gpu_only_actor_takes_no_cpu(self):
        self.assertEqual(actor.actor_resources({"num_gpus": 1}), ({"GPU": 1.0}, {"GPU": 1.0}))

    def test_zero_cpus_places_anywhere(self):
        self.assertEqual(actor.actor_resources({"num_cpus": 0}), ({}, {}))


class ClassMetaTest(unittest.TestCase):
    def test_methods_and_num_returns(self):
        class Thing:
            def a(self):
                pass

            @rayx.method(num_returns=3)
            def b(self):
                pass

            def __init__(self):
                pass

        meta = actor.class_meta(Thing)
        self.assertEqual(meta["methods"], {"a": 1, "b": 3})
        self.assertFalse(meta["is_async"])

    def test_async_class(self):
        class Thing:
            async def a(self):
                pass

        self.assertTrue(actor.class_meta(Thing)["is_async"])


class OptionsTest(unittest.TestCase):
    def test_method_decorator_checks_its_options(self):
        with self.assertRaisesRegex(ValueError, "bogus"):
            rayx.method(bogus=1)
        with self.assertRaisesRegex(ValueError, "num_returns"):
            rayx.method(num_returns=-1)

    def test_actor_options_are_checked(self):
        class Thing:
            pass

        with self.assertRaisesRegex(ValueError, "max_retries"):
            rayx.remote(max_retries=1)(Thing)
        cls = rayx.remote(Thing)
        with self.assertRaisesRegex(ValueError, "lifetime"):
            cls.options(lifetime="forever")
        with self.assertRaisesRegex(ValueError, "get_if_exists"):
            cls.options(get_if_exists=True)
        with self.assertRaisesRegex(ValueError, "max_concurrency"):
            cls.options(max_concurrency=0)

    def test_kill_needs_a_handle(self):
        with self.assertRaises(ValueError):
            rayx.kill("not a handle")


if __name__ == "__main__":
    unittest.main()
