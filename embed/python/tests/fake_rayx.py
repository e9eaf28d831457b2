"""An in-process stand-in for the `_rayx` engine, for testing the rayx package without C++.

`install()` puts a module named `_rayx` into sys.modules before rayx is imported. The fake keeps
objects in a dict and runs each task synchronously, inside submit_task, through
`rayx._private.worker_main.execute_task`, the worker's real task code, so the whole Python path
(args_blob encoding, dependency resolution, result and error serialization) runs as in a worker.
Tasks whose name starts with "pending" are queued instead and never run unless `run_pending()`.
"""

import itertools
import pickle
import sys
import types


class EngineError(RuntimeError):
    """The fake's version of _rayx.EngineError."""


class FakeEngine:
    """The state behind the fake module; tests may inspect it."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.connected = False
        self.node_running = False
        self.objects = {}
        self.refs = {}
        self.contained = {}
        self.functions = {}
        self.sent_functions = set()
        self.pending = {}
        self.submitted = []
        self.exports = []
        self.counter = itertools.count(1)
        self.task_id = b""
        self.node_args = None

    # Node and connection.
    def start_node(self, num_cpus, num_gpus, resources, object_store_memory):
        assert not self.node_running
        self.node_running = True
        self.node_args = (num_cpus, num_gpus, dict(resources), object_store_memory)
        return "/tmp/fake-rayx.sock"

    def connect(self, socket_path, namespace=""):
        self.connected = True
        self.namespace = namespace
        return {"job_id": b"\x01" * 4, "node_id": b"\x02" * 28, "worker_id": b"\x03" * 28}

    def disconnect(self):
        self.connected = False

    def stop_node(self):
        self.node_running = False

    def is_connected(self):
        return self.connected

    def _check(self):
        if not self.connected:
            raise EngineError("not connected")

    # Objects.
    def _new_id(self):
        return next(self.counter).to_bytes(28, "big")

    @staticmethod
    def _copy_buffers(buffers):
        out = []
        for b in buffers:
            raw = b.raw() if isinstance(b, pickle.PickleBuffer) else memoryview(b).cast("B")
            out.append(memoryview(bytes(raw)))  # Read-only, like the shared-memory views.
        return out

    def put(self, data, buffers, contained):
        self._check()
        object_id = self._new_id()
        self.objects[object_id] = (0, bytes(data), self._copy_buffers(buffers))
        self.contained[object_id] = list(contained)
        return object_id

    def get(self, ids, timeout):
        self._check()
        missing = [i for i in ids if i not in self.objects]
        if missing:
            if timeout is not None:
                raise TimeoutError("fake get timed out")
            raise EngineError(f"fake get would block forever on {missing[0].hex()}")
        return [self.objects[i] for i in ids]

    def wait(self, ids, num_returns, timeout, fetch_local):
        self._check()
        return [i in self.objects for i in ids]

    def add_ref(self, object_id):
        self.refs[object_id] = self.refs.get(object_id, 0) + 1

    def remove_ref(self, object_id):
        self.refs[object_id] -= 1
        assert self.refs[object_id] >= 0, object_id

    # Tasks.
    def export_function(self, function_id, blob):
        self._check()
        self.exports.append(function_id)
        self.functions[function_id] = blob

    def submit_task(self, function_id, name, args_blob, arg_buffers, dependencies, contained,
                    num_returns, resources, max_retries, retry_exceptions, placement=None):
        self._check()
        assert function_id in self.functions, "submit before export"
        task_id = self._new_id()
        return_ids = [task_id + bytes([i + 1]) for i in range(max(num_returns, 1))]
        spec = dict(task_id=task_id, function_id=function_id, name=name, args_blob=args_blob,
                    dependencies=list(dependencies), contained=list(contained),
                    return_ids=return_ids[:num_returns] if num_returns else return_ids,
                    resources=dict(resources), max_retries=max_retries,
                    retry_exceptions=retry_exceptions)
        self.submitted.append(spec)
        if name.startswith("pending"):
            self.pending[task_id] = spec
        else:
            self._run(spec)
        return return_ids[:num_returns]

    def run_pending(self):
        for task_id in list(self.pending):
            self._run(self.pending.pop(task_id))

    def _run(self, spec):
        from rayx._private import worker_main

        deps = [self.objects[d] for d in spec["dependencies"]]
        failed = [d for d in deps if d[0] != 0]
        if failed:  # The node fails a task whose argument failed, with the same error.
            for rid in spec["return_ids"]:
                self.objects[rid] = (failed[0][0], failed[0][1], [])
            return
        retries_left = spec["max_retries"]
        gpus = list(range(int(spec["resources"].get("GPU", 0))))
        while True:
            blob = None
            if spec["function_id"] not in self.sent_functions:
                blob = self.functions[spec["function_id"]]
                self.sent_functions.add(spec["function_id"])
            task = (spec["task_id"], spec["function_id"], blob, spec["name"], spec["args_blob"],
                    deps, spec["return_ids"], retries_left, gpus)
            outer, self.task_id = self.task_id, spec["task_id"]
            try:
                results, retry = worker_main.execute_task(task)
            finally:
                self.task_id = outer
            if retry and retries_left != 0:  # -1: for ever.
                retries_left -= retries_left > 0
                continue
            break
        if len(results) == 1 and results[0][0] != 0:
            results = results * len(spec["return_ids"])
        assert len(results) == len(spec["return_ids"]), results
        for rid, (kind, data, buffers, contained) in zip(spec["return_ids"], results):
            self.objects[rid] = (kind, data if kind == 2 else bytes(data),
                                 self._copy_buffers(buffers))
            self.contained[rid] = list(contained)

    def cancel(self, object_id, force, recursive=True):
        self._check()
        for task_id, spec in list(self.pending.items()):
            if object_id in spec["return_ids"]:
                del self.pending[task_id]
                for rid in spec["return_ids"]:
                    self.objects[rid] = (2, "TASK_CANCELLED: cancelled while queued", [])

    # Introspection.
    def cluster_resources(self):
        num_cpus, num_gpus, resources, _ = self.node_args
        return {"CPU": num_cpus, "GPU": num_gpus, **resources}

    def available_resources(self):
        return self.cluster_resources()

    def nodes(self):
        return [{"NodeID": ("02" * 28), "Alive": True, "Resources": self.cluster_resources()}]

    def context(self):
        return {"job_id": b"\x01" * 4, "node_id": b"\x02" * 28, "worker_id": b"\x03" * 28,
                "task_id": self.task_id, "namespace": getattr(self, "namespace", "")}


engine = FakeEngine()


def install():
    """Registers the fake as `_rayx` (idempotent) and returns the FakeEngine behind it."""
    if "_rayx" not in sys.modules:
        module = types.ModuleType("_rayx", "Fake _rayx engine for tests.")
        module.EngineError = EngineError
        for name in ("start_node", "connect", "disconnect", "stop_node", "is_connected", "put",
                     "get", "wait", "add_ref", "remove_ref", "export_function", "submit_task",
                     "cancel", "cluster_resources", "available_resources", "nodes", "context"):
            setattr(module, name, getattr(engine, name))
        sys.modules["_rayx"] = module
    return engine
