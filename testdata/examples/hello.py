"""The smallest rayx program: run it with `rayx run testdata/examples/hello.py [NAME]`.

It starts an embedded node, fans a greeting out to remote tasks, and gathers their answers.
"""

import sys

import rayx


@rayx.remote
def greet(name: str, index: int) -> str:
    """Runs in a worker process; its return value travels back through the object store."""
    return f"hello, {name}, from task {index}"


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    rayx.init(num_cpus=2)
    greetings = rayx.get([greet.remote(name, i) for i in range(3)])
    print(f"hello, {name}, from rayx {rayx.__version__} on Python {sys.version.split()[0]}")
    for line in greetings:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
