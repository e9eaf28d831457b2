"""End to end: sys.executable is the rayx binary, and it answers to python3's command lines, so
subprocess.run([sys.executable, ...]) and multiprocessing's "spawn" work inside rayx programs.

Run by script_test.sh as `rayx run python_executable.py`.
"""
import multiprocessing
import subprocess
import sys


def main() -> None:
    out = subprocess.run([sys.executable, "-B", "-c", "import sys, ray; print(sys.argv[1:])", "x", "-y"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "['x', '-y']", out
    out = subprocess.run([sys.executable, "-c", "raise SystemExit(7)"], timeout=60)
    assert out.returncode == 7, out
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(abs, range(-4, 0)) == [4, 3, 2, 1]
    print("python_executable: subprocess and spawn work")


if __name__ == "__main__":
    main()
