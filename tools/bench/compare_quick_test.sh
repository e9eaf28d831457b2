#!/usr/bin/env bash
# The quick comparison runs end to end and prints a figure for rayx and for each peer.
# Usage: compare_quick_test.sh RAYX_BINARY UDS_ROUNDTRIP_BINARY
set -u
# Its own data directory (lineage log, sessions): not the machine's, which other tests share.
export RAYX_HOME=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME"' EXIT
RAYX=$(readlink -f "${1:?usage: $0 RAYX UDS_ROUNDTRIP}")
UDS=$(readlink -f "${2:?usage: $0 RAYX UDS_ROUNDTRIP}")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${TEST_TMPDIR:-$(mktemp -d)}
/usr/bin/python3 "$HERE/compare.py" --quick --rayx "$RAYX" --uds "$UDS" \
  --json-out "$OUT/compare.json" | tee "$OUT/compare.txt"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "FAIL: compare.py --quick failed"; exit 1; }
/usr/bin/python3 - "$OUT/compare.json" <<'PY' || { echo "FAIL: figures missing"; exit 1; }
import json, sys
doc = json.load(open(sys.argv[1]))
need = {"multiprocessing": ["single_client_tasks_sync", "single_client_tasks_async"],
        "futures": ["single_client_tasks_sync", "single_client_tasks_async"],
        "numpy": ["single_client_put_gigabytes"]}
ok = doc["uds_per_s"] > 0 and 0 < doc["startup_s"] < 60
for peer, metrics in need.items():
    for m in metrics:
        ok = ok and doc["peers"][peer].get(m, 0) > 0
for m in ["single_client_tasks_sync", "single_client_tasks_async", "single_client_put_calls"]:
    ok = ok and doc["rayx"].get(m, 0) > 0
ok = ok and len(doc["targets"]) >= 9
sys.exit(0 if ok else 1)
PY
grep -q "^targets:" "$OUT/compare.txt" || { echo "FAIL: no targets section"; exit 1; }
echo "ok: the quick comparison ran and produced numbers"
