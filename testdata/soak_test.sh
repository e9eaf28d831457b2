#!/usr/bin/env bash
# Soak, short form: two minutes of the steady mixed workload of soak/soak.py; the driver's (and
# node's) and workers' memory, descriptors and store files must stay flat. Two minutes cannot see
# a slow leak, so the bound on the memory slope is loose here (300 MiB/h); the hour-long run
# (`rayx run testdata/soak/soak.py`) uses 64 MiB/h.
#
# It runs with the lineage log off (RAYX_LINEAGE=0): with it on, the log's memory fills to its
# bounds (memtables, block cache, open tables) during the first minutes, which two minutes read as
# growth; the hour-long run with it on is flat after that (README, Reliability). With it off,
# everything stays flat from the start.
set -u
rayx=$(readlink -f "$1")
export RAYX_HOME=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME"' EXIT
# Under AddressSanitizer (bazel test --config=asan sets RAYX_SANITIZER) memory is the sanitizer's:
# its quarantine of freed blocks fills up to 256 MiB in every process. Only descriptors and store
# files are checked then.
slope=300
[[ ${RAYX_SANITIZER:-} == asan ]] && slope=1000000
RAYX_LINEAGE=0 timeout 400 "$rayx" run "$(dirname "$0")/soak/soak.py" --minutes 2 --sample 3 \
  --max-slope-mib-per-hour "$slope" 2>&1 | tail -3
exit "${PIPESTATUS[0]}"
