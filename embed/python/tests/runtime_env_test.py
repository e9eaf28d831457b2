"""Tests of rayx._private.runtime_env (working_dir and py_modules) and of the args blob's place
(task_args.with_place), without an engine: copies go to a directory the test gives."""

import os
import shutil
import sys
import tempfile
import unittest

import _setup  # noqa: F401  (puts rayx on sys.path)

from rayx._private import current, runtime_env, task_args


class RuntimeEnvTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.source = os.path.join(self.root, "project")
        os.makedirs(os.path.join(self.source, "sub"))
        for name, text in [("a.txt", "a"), ("sub/b.txt", "b"), ("skip.bin", "x")]:
            with open(os.path.join(self.source, name), "w") as f:
                f.write(text)
        runtime_env._copies_root = os.path.join(self.root, "copies")
        os.makedirs(runtime_env._copies_root)

    def tearDown(self):
        runtime_env._copies_root = None
        shutil.rmtree(self.root, ignore_errors=True)

    def test_bad_paths_are_refused_by_name(self):
        with self.assertRaisesRegex(ValueError, "does not exist"):
            runtime_env.check({"working_dir": os.path.join(self.root, "none")})
        with self.assertRaisesRegex(ValueError, "is not a directory"):
            runtime_env.check({"working_dir": os.path.join(self.source, "a.txt")})
        for uri in ("s3://b/x.zip", "https://h/x.zip", "gs://b/x"):
            with self.assertRaisesRegex(NotImplementedError, uri):
                runtime_env.check({"py_modules": [uri]})
        with self.assertRaisesRegex(NotImplementedError, "x.whl"):
            runtime_env.check({"py_modules": ["/tmp/x.whl"]})
        with self.assertRaisesRegex(TypeError, "list"):
            runtime_env.check({"py_modules": self.source})
        with self.assertRaises(TypeError):
            runtime_env.check({"working_dir": 3})
        with self.assertRaises(TypeError):
            runtime_env.check({"excludes": "*.bin"})

    def test_copies_once_per_content_and_honours_excludes(self):
        env = {"working_dir": self.source, "excludes": ["*.bin"]}
        first = runtime_env.prepare(env)["working_dir"]
        self.assertTrue(os.path.exists(os.path.join(first, "sub", "b.txt")))
        self.assertFalse(os.path.exists(os.path.join(first, "skip.bin")))
        self.assertEqual(runtime_env.prepare(env)["working_dir"], first)  # The same files.
        with open(os.path.join(self.source, "a.txt"), "w") as f:
            f.write("changed")
        second = runtime_env.prepare(env)["working_dir"]
        self.assertNotEqual(second, first)
        with open(os.path.join(first, "a.txt")) as f:
            self.assertEqual(f.read(), "a")  # The first copy is as it was.

    def test_py_modules_put_their_parent_on_the_path(self):
        prepared = runtime_env.prepare({"py_modules": [self.source]})
        (parent,) = prepared["py_modules"]
        self.assertTrue(os.path.isdir(os.path.join(parent, "project")))
        self.assertNotIn("working_dir", prepared)  # Not named: inherited from the parent.
        self.assertIsNone(runtime_env.prepare({"env_vars": {"A": "1"}}))

    def test_too_large_a_directory(self):
        limit = runtime_env.MAX_BYTES
        runtime_env.MAX_BYTES = 1
        try:
            with self.assertRaisesRegex(ValueError, "larger than"):
                runtime_env.prepare({"working_dir": self.source})
        finally:
            runtime_env.MAX_BYTES = limit

    def test_apply_and_restore(self):
        prepared = runtime_env.prepare({"working_dir": self.source, "py_modules": [self.source]})
        cwd, path = os.getcwd(), list(sys.path)
        saved = runtime_env.apply(prepared)
        self.assertEqual(os.getcwd(), os.path.realpath(prepared["working_dir"]))
        self.assertEqual(sys.path[0], prepared["working_dir"])
        self.assertIn(prepared["py_modules"][0], sys.path)
        runtime_env.restore(saved)
        self.assertEqual((os.getcwd(), sys.path), (cwd, path))

    def test_a_child_place_overrides_its_parent_key_by_key(self):
        try:
            runtime_env.set_job_place({"working_dir": "/job", "py_modules": ["/job-m"]})
            self.assertIsNone(runtime_env.child_place(None))  # The job's: every worker has it.
            self.assertEqual(runtime_env.child_place({"working_dir": "/own"}),
                             {"working_dir": "/own", "py_modules": ["/job-m"]})
            current.inherited_place = {"py_modules": ["/parent-m"], "env_vars": {"A": "a"}}
            self.assertIs(runtime_env.child_place(None), current.inherited_place)
            self.assertEqual(runtime_env.child_place({"py_modules": ["/own-m"]}),
                             {"py_modules": ["/own-m"], "env_vars": {"A": "a"}})
        finally:
            current.inherited_place = None
            runtime_env.set_job_place(None)

    def test_a_place_with_directories_replaces_the_jobs(self):
        job = {"working_dir": "/nonexistent-job-dir", "py_modules": ["/job-m"]}
        path = list(sys.path)
        sys.path[:0] = ["/nonexistent-job-dir", "/job-m"]
        runtime_env.set_job_place(job)
        try:
            prepared = runtime_env.prepare({"working_dir": self.source})
            cwd = os.getcwd()
            saved = runtime_env.apply(prepared)
            self.assertNotIn("/job-m", sys.path)
            self.assertNotIn("/nonexistent-job-dir", sys.path)
            self.assertEqual(sys.path[0], prepared["working_dir"])
            runtime_env.restore(saved)
            self.assertEqual(os.getcwd(), cwd)
            self.assertEqual(sys.path[:2], ["/nonexistent-job-dir", "/job-m"])
            env_only = runtime_env.apply({"env_vars": {"A": "1"}})  # Directories left alone.
            self.assertEqual(sys.path[:2], ["/nonexistent-job-dir", "/job-m"])
            runtime_env.restore(env_only)
        finally:
            runtime_env.set_job_place(None)
            sys.path[:] = path

    def test_place_wraps_an_args_blob(self):
        blob = task_args.plain_args_blob((1, "x"), {}, False)
        self.assertEqual(task_args.split_place(blob), (None, blob))
        self.assertIs(task_args.with_place(blob, None), blob)
        place = {"working_dir": "/w", "py_modules": ["/m"]}
        wrapped = task_args.with_place(blob, place)
        self.assertEqual(task_args.split_place(wrapped), (place, blob))
        self.assertEqual(task_args.split_place(memoryview(wrapped))[0], place)
        self.assertEqual(task_args.decode_args(task_args.split_place(wrapped)[1], ()),
                         ((1, "x"), {}, False))


if __name__ == "__main__":
    unittest.main()
