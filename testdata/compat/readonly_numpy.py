"""End to end: numpy arrays read back from the object store are read-only, whatever their size.

Run by script_test.sh as `rayx run readonly_numpy.py`. As Ray's serialization guide says, an
array from `get` or given to a task as an argument is a read-only view (small ones travel inline,
large ones through shared memory, and both are read-only); a task that writes to its argument
fails with ValueError ("assignment destination is read-only"), which the caller gets as a
RayTaskError that is also a ValueError. A copy is writable, and the caller's own array is never
touched.
"""
import numpy as np

import rayx

rayx.init(num_cpus=2)

SMALL = 10  # 80 bytes: inline.
LARGE = 2_000_000  # 16 MB: shared memory.


def read_only(array):
    assert isinstance(array, np.ndarray), type(array)
    if array.flags.writeable:
        return False
    try:
        array[0] = 1
    except ValueError as e:
        assert "read-only" in str(e), e
        return True
    raise AssertionError("a read-only array was written to")


@rayx.remote
def make(n):
    return np.arange(n, dtype=np.float64)


@rayx.remote
def check(array, nested):
    return read_only(array), [read_only(a) for a in nested["arrays"]]


@rayx.remote
def write(array):
    array[0] = 42.0
    return "wrote"


@rayx.remote
def write_copy(array):
    copy = array.copy()
    copy[0] = 42.0
    return copy


@rayx.remote
class Keeper:
    def write(self, array):
        array[0] = 42.0

    def check(self, array):
        return read_only(array)


for n in (SMALL, LARGE):
    mine = np.zeros(n)
    # get: of a put, and of a task's result.
    assert read_only(rayx.get(rayx.put(mine))), n
    assert read_only(rayx.get(make.remote(n))), n
    # Arguments: inline (small), put first (large), nested in a container, or passed by ref.
    nested = {"arrays": [np.ones(n), np.ones(3)]}
    assert rayx.get(check.remote(mine, nested)) == (True, [True, True]), n
    assert rayx.get(check.remote(rayx.put(mine), nested)) == (True, [True, True]), n
    assert rayx.get(check.remote(make.remote(n), nested)) == (True, [True, True]), n
    # A task that writes to its argument fails with the ValueError, wrapped.
    for argument in (mine, rayx.put(mine)):
        try:
            rayx.get(write.remote(argument))
            raise AssertionError("a task wrote to a read-only argument")
        except rayx.exceptions.RayTaskError as e:
            assert isinstance(e, ValueError), type(e)
            assert "assignment destination is read-only" in str(e), e
    keeper = Keeper.remote()
    try:
        rayx.get(keeper.write.remote(mine))
        raise AssertionError("an actor method wrote to a read-only argument")
    except ValueError as e:
        assert "read-only" in str(e), e
    assert rayx.get(keeper.check.remote(mine)) is True
    # A copy is the task's own; the caller's array was never shared.
    copy = rayx.get(write_copy.remote(mine))
    assert copy[0] == 42.0 and not copy.flags.writeable
    assert mine.flags.writeable and mine[0] == 0.0
    writable = np.array(rayx.get(rayx.put(mine)))
    writable[0] = 7.0
print("readonly numpy: all checks held")
