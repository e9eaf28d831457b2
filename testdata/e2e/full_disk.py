# A full disk under $RAYX_HOME (a small tmpfs of full_disk_test.sh's): argv[1] "at_start" starts
# the node with the disk already full (the lineage log cannot be made); "during" fills it while
# tasks run (the log's writes fail). Either way every task runs and returns its result, the
# process does not crash, and in "during" the tasks go on running once the disk has room again.
import os
import sys

import rayx

home = os.environ["RAYX_HOME"]
filler = os.path.join(home, "filler")


def fill_disk():
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"x" * 65536)
    except OSError as e:
        assert e.errno == 28, e  # ENOSPC
    finally:
        os.close(fd)


@rayx.remote
def double(x):
    return x * 2


def run_tasks(n):
    assert rayx.get([double.remote(i) for i in range(n)]) == [i * 2 for i in range(n)]


mode = sys.argv[1]
if mode == "at_start":
    fill_disk()
rayx.init(num_cpus=2)
run_tasks(100)
if mode == "during":
    fill_disk()
    # Enough records to outgrow what RocksDB's log file had taken before the disk filled.
    for _ in range(25):
        run_tasks(2000)
    os.unlink(filler)
    run_tasks(2000)
print(f"full disk {mode} ok", flush=True)
