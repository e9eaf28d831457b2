"""The ``args_blob`` of a task: how a call's arguments travel from submitter to worker.

Format (version 1), opaque to the engine: the bytes of a protocol-5 pickle, with no out-of-band
buffers, of the tuple

    (1, args: tuple, kwargs: dict[str, Any], retry_exceptions: bool | tuple[type, ...])

(an actor's creation task has no retry_exceptions: that place holds the actor's context, a dict
of its name, namespace, handle meta, lifetime resources and env_vars, which its worker reads back;
a task with runtime_env env_vars, a generator task or a task in a placement group has a `TaskEnv`
there, which carries them).

in which every top-level argument that is an ObjectRef has been replaced by
``DependencyArg(i)``, i being its index in the task's ``dependencies`` list (each distinct ref
appears there once). The engine resolves dependencies before the task runs and hands the worker
their serialized values in the same order; the worker replaces each ``DependencyArg(i)`` with the
value of ``dependency_values[i]``. ObjectRefs nested deeper are pickled as ObjectRefs and listed in
``contained``.

A top-level argument whose serialized size exceeds INLINE_THRESHOLD (e.g. a large numpy array) is
put into the object store first and passed as a dependency, so it travels through shared memory.

A task or actor given a runtime_env working_dir or py_modules has its blob wrapped (`with_place`):
PLACE_MAGIC, the 4-byte little-endian length of a pickle of the place (the paths of their copies,
rayx._private.runtime_env.prepare), that pickle, then the blob above. The worker moves there
(`split_place`) before it loads the function and unpickles the arguments, which may need them.

Arguments that hold out-of-band buffers (small numpy arrays) travel inline in format 2: the
pickle of ``(2, data, buffers)``, data being the pickle of the tuple above with those buffers out
of band, each buffer as bytes. The worker unpickles data over the bytes, so that such an array is
read-only in the task, as an argument read from the object store is (and as in Ray).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Sequence

from rayx._private import serialization
from rayx._private.serialization import _PLAIN_TYPES, INLINE_THRESHOLD, VALUE, SerializedValue
from rayx.object_ref import ObjectRef

ARGS_FORMAT = 1
ARGS_FORMAT_BUFFERS = 2
# Starts a blob wrapped with a place (see the module docstring); no pickle starts so (b"\x80").
PLACE_MAGIC = b"RAYXENV1"


class TaskEnv(NamedTuple):
    """The retry_exceptions place of a task given runtime_env env_vars or of a generator task (or
    of an actor's generator method call): they travel in it.

    generator: "streaming" or "dynamic" for a generator task (see rayx.object_ref_generator),
    None otherwise. placement_group: ``(group id bytes, capture child tasks)`` for a task placed
    in a placement group (rayx.util.placement_group), None otherwise.
    """

    retry_exceptions: Any
    env_vars: Optional[dict]
    generator: Optional[str] = None
    placement_group: Optional[tuple] = None


class DependencyArg:
    """Stands in the args_blob for the i-th dependency of the task."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __reduce__(self):
        return (DependencyArg, (self.index,))

    def __repr__(self) -> str:
        return f"DependencyArg({self.index})"


@dataclass
class EncodedArgs:
    """A call's arguments ready for submit_task.

    ``keepalive`` holds the refs of arguments that were put on the way; keep it until
    submit_task has returned (the engine then holds the dependencies of the pending task).
    """

    blob: bytes
    dependencies: list
    contained: list
    keepalive: list = field(default_factory=list)


class DependencyFailed(Exception):
    """A dependency's value is an error; ``triple`` is that error value, to pass on as is."""

    def __init__(self, triple: tuple):
        super().__init__(triple[0])
        self.triple = triple


def plain_args_blob(args: Sequence[Any], kwargs: dict, retry_exceptions: Any) -> Optional[bytes]:
    """Returns the args_blob of a call whose arguments are all builtin scalars, else None.

    The common call: no keyword arguments, only builtin scalars (or nothing), retry_exceptions a
    bool. Plain pickle writes the same format as `encode_args` without the cost of a cloudpickle
    pickler, and a call without arguments has one constant blob. None means `encode_args` must
    encode the call (another kind of argument, or too large a blob).
    """
    if kwargs or type(retry_exceptions) is not bool:
        return None
    if not args:
        return _NO_ARGS_BLOBS[retry_exceptions]
    for a in args:
        if type(a) not in _PLAIN_TYPES:
            return None
    if type(args) is not tuple:
        args = tuple(args)
    data = _dumps((ARGS_FORMAT, args, {}, retry_exceptions), 5)
    return data if len(data) <= INLINE_THRESHOLD else None


_dumps = pickle.dumps
_NO_ARGS_BLOBS = {retry: _dumps((ARGS_FORMAT, (), {}, retry), 5) for retry in (False, True)}
_NO_ARGS_RETRY = {blob: retry for retry, blob in _NO_ARGS_BLOBS.items()}


def encode_args(
    function_name: str,
    args: Sequence[Any],
    kwargs: dict,
    retry_exceptions: Any,
    put: Callable[[SerializedValue], ObjectRef],
) -> EncodedArgs:
    """Encodes a call's arguments (see the module docstring for the format).

    Args:
        function_name: the remote function's name, for error messages.
        args, kwargs: the call's arguments.
        retry_exceptions: the task's retry_exceptions option (bool or list of types).
        put: stores a serialized value and returns its ObjectRef (used for large arguments).

    Raises:
        TypeError: an argument cannot be serialized; the message names it and its type.
    """
    blob = plain_args_blob(args, kwargs, retry_exceptions)
    if blob is not None:
        return EncodedArgs(blob, [], [])
    return _encode_general(function_name, args, kwargs, retry_exceptions, put)


def _encode_general(
    function_name: str,
    args: Sequence[Any],
    kwargs: dict,
    retry_exceptions: Any,
    put: Callable[[SerializedValue], ObjectRef],
) -> EncodedArgs:
    """`encode_args` for any arguments: ObjectRefs become dependencies, large ones are put."""
    dependencies: dict = {}
    keepalive: list = []

    def placeholder(value: Any) -> Any:
        if isinstance(value, ObjectRef):
            return DependencyArg(dependencies.setdefault(value.binary(), len(dependencies)))
        return value

    args = tuple(placeholder(a) for a in args)
    kwargs = {k: placeholder(v) for k, v in kwargs.items()} if kwargs else {}
    if isinstance(retry_exceptions, list):
        retry_exceptions = tuple(retry_exceptions)
    try:
        serialized = serialization.serialize((ARGS_FORMAT, args, kwargs, retry_exceptions))
    except Exception as e:
        raise _argument_error(function_name, args, kwargs, e) from e

    if serialized.buffers or len(serialized.data) > INLINE_THRESHOLD:
        # Put each large top-level argument on its own; the rest travels inline, in-band.
        def put_if_large(value: Any) -> Any:
            if isinstance(value, DependencyArg):
                return value
            one = serialization.serialize(value)
            if one.nbytes() <= INLINE_THRESHOLD:
                return value
            ref = put(one)
            keepalive.append(ref)
            return placeholder(ref)

        args = tuple(put_if_large(a) for a in args)
        kwargs = {k: put_if_large(v) for k, v in kwargs.items()}
        serialized = serialization.serialize((ARGS_FORMAT, args, kwargs, retry_exceptions))
    data = serialized.data
    if serialized.buffers:  # Format 2: the buffers come back read-only (see the docstring).
        buffers = [memoryview(b).tobytes() for b in serialized.buffers]
        data = _dumps((ARGS_FORMAT_BUFFERS, data, buffers), 5)
    return EncodedArgs(data, list(dependencies), serialized.contained, keepalive)


def _argument_error(function_name: str, args: tuple, kwargs: dict, error: Exception) -> TypeError:
    """Names the first argument that cannot be serialized, with its type and the reason."""
    where = [(f"argument {i} (positional)", a) for i, a in enumerate(args)]
    where += [(f"keyword argument '{k}'", v) for k, v in kwargs.items()]
    for label, value in where:
        reason = serialization.describe_unpicklable(value)
        if reason is not None:
            return TypeError(
                f"Could not serialize {label} of type {type(value).__module__}."
                f"{type(value).__qualname__} for remote function '{function_name}': {reason}"
            )
    return TypeError(f"Could not serialize the arguments of '{function_name}': {error}")


def with_place(blob: bytes, place: Optional[dict]) -> bytes:
    """Wraps an args blob with the place its task runs in (see the module docstring)."""
    if not place:
        return blob
    header = _dumps(place, 5)
    return PLACE_MAGIC + len(header).to_bytes(4, "little") + header + bytes(blob)


def split_place(blob: Any) -> tuple:
    """Returns ``(place, blob)``: the place of a wrapped blob (None if not wrapped), and the blob
    within."""
    if blob[:8] != PLACE_MAGIC:
        return None, blob
    size = int.from_bytes(blob[8:12], "little")
    return serialization.pickle.loads(blob[12:12 + size]), blob[12 + size:]


def decode_args(blob: bytes, dependency_values: Sequence[tuple]) -> tuple[tuple, dict, Any]:
    """Rebuilds ``(args, kwargs, retry_exceptions)`` in the worker.

    Args:
        blob: the args_blob made by `encode_args`.
        dependency_values: the serialized values of the task's dependencies, in order.

    Raises:
        DependencyFailed: a dependency holds an error value (the task must fail with it).
        ValueError: the blob is not in a known format.
    """
    if type(blob) is bytes and not dependency_values:
        retry_exceptions = _NO_ARGS_RETRY.get(blob)
        if retry_exceptions is not None:  # A call without arguments: nothing to unpickle.
            return (), {}, retry_exceptions
    decoded = serialization.pickle.loads(blob)
    if type(decoded) is tuple and len(decoded) == 3 and decoded[0] == ARGS_FORMAT_BUFFERS:
        decoded = serialization.pickle.loads(decoded[1], buffers=decoded[2])
    if not isinstance(decoded, tuple) or not decoded or decoded[0] != ARGS_FORMAT:
        raise ValueError("unknown args_blob format")
    _, args, kwargs, retry_exceptions = decoded
    if not dependency_values:  # No DependencyArg to replace.
        return args, kwargs, retry_exceptions
    values: dict = {}

    def resolve(value: Any) -> Any:
        if type(value) is not DependencyArg:
            return value
        i = value.index
        if i not in values:
            kind, data, buffers = dependency_values[i][:3]
            if kind != VALUE:
                raise DependencyFailed((kind, data, [], []))
            values[i] = serialization.deserialize(kind, data, buffers)
        return values[i]

    args = tuple(resolve(a) for a in args)
    kwargs = {k: resolve(v) for k, v in kwargs.items()}
    return args, kwargs, retry_exceptions
