"""The smallest rayx program: run it with `rayx run testdata/examples/hello.py [NAME]`."""

import sys

import rayx


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    print(f"hello, {name}, from rayx {rayx.__version__} on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
