#!/usr/bin/env bash
# A full disk: with $RAYX_HOME on a tmpfs of 16 MiB that is full when the node starts, or fills
# while tasks run, every task still runs and returns (e2e/full_disk.py); the lineage log says once
# that it cannot write rather than on every batch, and the process does not crash (Debian's
# RocksDB asserted in its own LOG file's writer once a write to it had failed). The tmpfs is
# mounted in a mount namespace of the test's own (unshare -m); where that is not permitted the
# test is skipped, saying so.
set -u
rayx=$(readlink -f "$1")
script=$(readlink -f "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! unshare -m true 2>/dev/null; then
  echo "skipped: a full disk (needs a mount namespace of its own: unshare -m, as root)"
  exit 0
fi
fail=0
for mode in at_start during; do
  out=$work/$mode.out
  mkdir "$work/home-$mode"
  # shellcheck disable=SC2016  # Expanded by the inner shell.
  timeout 300 unshare -m bash -c 'mount -t tmpfs -o size=16m tmpfs "$1" &&
    RAYX_HOME=$1 "$2" run "$3" "$4"' _ "$work/home-$mode" "$rayx" "$script" "$mode" \
    >"$out" 2>&1 </dev/null
  status=$?
  if [[ $status == 0 ]] && grep -q "full disk $mode ok" "$out"; then
    echo "ok: a disk full $mode: every task ran"
  else
    echo "FAIL: a disk full $mode (exit status $status)"
    tail -30 "$out"
    fail=1
    continue
  fi
  warnings=$(grep -c "the lineage log .* cannot" "$out")
  if [[ $warnings == 1 ]]; then
    echo "ok: the lineage log said once that it could not write"
  else
    echo "FAIL: the lineage log's warning came $warnings times, not once"
    grep "lineage log" "$out" | head -5
    fail=1
  fi
done
exit $fail
