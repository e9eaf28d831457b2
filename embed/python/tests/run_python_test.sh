#!/usr/bin/env bash
# Runs one of the package's unit-test scripts with Debian's python3 (which has numpy and
# cloudpickle), over the fake engine in fake_rayx.py: run_python_test.sh TEST_SCRIPT
set -euo pipefail
exec /usr/bin/python3 "$1"
