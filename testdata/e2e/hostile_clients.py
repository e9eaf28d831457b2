# Hostile local clients: processes that connect to the node's Unix socket and send garbage, an
# oversized frame, half a frame and then nothing, or open hundreds of connections at once, do not
# crash the node nor hold up the driver's tasks; the socket's directory is the user's alone.
import os
import resource
import socket
import stat
import struct
import time

import rayx
from rayx._private import worker as worker_lib

rayx.init()
store = worker_lib.object_store_stats()["store_dir"]
sock_path = os.path.join(store, "node.sock")
assert stat.S_ISSOCK(os.stat(sock_path).st_mode), sock_path
mode = stat.S_IMODE(os.stat(store).st_mode)
assert mode & 0o077 == 0, f"the node's directory {store} is open to others: {oct(mode)}"
assert os.stat(store).st_uid == os.getuid()


@rayx.remote
def echo(x):
    return x


def serving(deadline=10.0) -> float:
    """Runs a round of tasks and returns how long it took (it must finish)."""
    start = time.monotonic()
    assert rayx.get([echo.remote(i) for i in range(50)], timeout=deadline) == list(range(50))
    return time.monotonic() - start


def closed_by_node(conn: socket.socket, within: float) -> bool:
    conn.settimeout(within)
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def connect() -> socket.socket:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock_path)
    return c


serving()
# Garbage: not a frame the verifier accepts.
junk = connect()
junk.sendall(struct.pack("<I", 32) + os.urandom(32))
assert closed_by_node(junk, 5), "garbage did not close the connection"
# A frame whose header claims 4 GiB.
big = connect()
big.sendall(b"\xff\xff\xff\xff")
assert closed_by_node(big, 5), "an oversized frame did not close the connection"
# Half a frame, then silence: the node waits for the rest without holding up anyone else.
half = connect()
half.sendall(struct.pack("<I", 1000) + b"x" * 10)
assert serving() < 5
# Hundreds of connections at once, some saying garbage.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
many = []
for i in range(min(500, soft - 64)):
    c = connect()
    if i % 3 == 0:
        c.sendall(b"\x05\x00\x00\x00hello")
    many.append(c)
assert serving(deadline=30) < 15
for c in many:
    c.close()
half.close()
assert serving() < 5
print("hostile clients: all checks held")
