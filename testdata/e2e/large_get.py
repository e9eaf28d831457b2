"""End to end: one get of more inline values than a reply frame may hold.

3,000 puts of 90 KiB each (inline: under the 100 KiB threshold) make 270 MB, past the 256 MiB
frame limit. The node answers a get with a prefix of the ids within its reply budget, and the
client asks again for the rest (protocol.fbs, GetReply); every value must come back, in order.
Manual until the client follows that rule (the node side is tested in engine/node:get_reply_test).
"""
import rayx

rayx.init(num_cpus=1)

COUNT = 3000
SIZE = 90 * 1024

refs = [rayx.put(bytes([i % 251]) * SIZE) for i in range(COUNT)]
values = rayx.get(refs)
assert len(values) == COUNT, len(values)
for i, value in enumerate(values):
    assert len(value) == SIZE and value[0] == i % 251 and value[-1] == i % 251, i

rayx.shutdown()
print("large get: all checks held")
