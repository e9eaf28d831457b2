"""End to end: whatever a stranger writes to the node's socket, the node keeps serving its driver.

Run by script_test.sh as `rayx run bad_frames.py`.
"""
import os
import socket
import struct

import rayx

rayx.init(num_cpus=1)


@rayx.remote
def echo(x):
    return x


assert rayx.get(echo.remote(1)) == 1
node_socket = os.path.join(rayx.nodes()[0]["NodeManagerAddress"], "node.sock")


def send_raw(payload: bytes) -> bytes:
    """Connects, writes payload, and returns what the node answers before it hangs up."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(node_socket)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
        return answer


frame = lambda body: struct.pack("<I", len(body)) + body  # noqa: E731
cases = {
    "random bytes in a frame": frame(os.urandom(200)),
    "an empty frame": frame(b""),
    "a length far beyond the limit": struct.pack("<I", 0xFFFFFFF0) + b"x" * 64,
    "half a header": b"\x05\x00",
    "a frame cut short": struct.pack("<I", 1000) + b"y" * 10,
    "a flatbuffer offset pointing outside the frame": frame(struct.pack("<I", 0x7FFFFFFF) + bytes(12)),
}
for what, payload in cases.items():
    answer = send_raw(payload)
    assert answer == b"", f"{what}: the node answered {answer!r} instead of closing"
    assert rayx.get(echo.remote(what)) == what, what

print("bad_frames: the node survived every malformed input")
