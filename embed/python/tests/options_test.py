"""Tests of option validation in rayx._private.options (no engine needed)."""

import unittest
import warnings

import _setup  # noqa: F401  (puts rayx on sys.path)

from rayx._private import options


class OptionsTest(unittest.TestCase):
    def test_valid_task_options(self):
        opts = {"num_cpus": 0.5, "num_gpus": 1, "resources": {"accel": 1}, "num_returns": 3,
                "max_retries": -1, "retry_exceptions": [ValueError], "name": "n", "memory": 10}
        self.assertEqual(options.validate_options("task", opts), opts)

    def test_unknown_option_is_named(self):
        with self.assertRaisesRegex(ValueError, "num_cpu\\b"):
            options.validate_options("task", {"num_cpu": 1})

    def test_actor_only_option_on_a_task(self):
        with self.assertRaisesRegex(ValueError, "max_restarts"):
            options.validate_options("task", {"max_restarts": 1})

    def test_bad_values(self):
        for bad in [{"num_cpus": -1}, {"num_cpus": "1"}, {"num_gpus": True}, {"num_gpus": 1.5},
                    {"num_returns": -1}, {"num_returns": 1.0}, {"max_retries": -2},
                    {"retry_exceptions": [1]}, {"resources": {"CPU": 1}},
                    {"resources": {"x": -1}}, {"resources": [1]}, {"name": 3},
                    {"num_returns": "dinamic"}]:
            with self.assertRaises(ValueError, msg=bad) as caught:
                options.validate_options("task", bad)
            self.assertIn(next(iter(bad)), str(caught.exception))

    def test_generator_num_returns(self):
        for mode in ("streaming", "dynamic"):
            self.assertEqual(options.validate_options("task", {"num_returns": mode}),
                             {"num_returns": mode})

    def test_ignored_options_warn_once(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            options.validate_options("task", {"max_calls": 2})
            options.validate_options("task", {"max_calls": 2})
            options.validate_options("task", {"_metadata": {"x": 1}, "enable_task_events": False})
        self.assertEqual(len(caught), 1)

    def test_what_rayx_cannot_do_is_named(self):
        for bad, named in [({"runtime_env": {"pip": ["x"]}}, "'pip'"),
                           ({"label_selector": {"zone": "a"}}, "label_selector")]:
            with self.assertRaisesRegex(NotImplementedError, named, msg=bad):
                options.validate_options("task", bad)
        with self.assertRaisesRegex(ValueError, "placement_group"):
            options.validate_options("task", {"placement_group": object()})
        with self.assertRaises(TypeError):
            options.validate_options("task", {"runtime_env": {"env_vars": {"A": 1}}})
        options.validate_options("task", {"runtime_env": {"env_vars": {"A": "1"}},
                                          "label_selector": {}, "placement_group": "default"})

    def test_runtime_env_vars(self):
        self.assertIsNone(options.runtime_env_vars({}))
        self.assertEqual(options.runtime_env_vars({"runtime_env": {"env_vars": {"A": "1"}}}),
                         {"A": "1"})

    def test_task_resources(self):
        self.assertEqual(options.task_resources({}), {"CPU": 1.0})
        self.assertEqual(
            options.task_resources({"num_cpus": 0, "num_gpus": 1, "resources": {"a": 2, "z": 0}}),
            {"GPU": 1.0, "a": 2.0},
        )
        self.assertEqual(options.task_resources({"accelerator_type": "A100", "memory": 5}),
                         {"CPU": 1.0, "memory": 5.0, "accelerator_type:A100": 0.001})


if __name__ == "__main__":
    unittest.main()
