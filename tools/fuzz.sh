#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer (clang-14) for a while: tools/fuzz.sh TARGET SECONDS
# [LIBFUZZER_FLAG...]. TARGET is one of: frame, envelope, object_format, peer, records.
#
# Builds the target with --config=fuzz (AddressSanitizer, UBSan and libFuzzer) in an output base
# of its own ($RAYX_FUZZ_OUTPUT_BASE, default ~/.cache/rayx-fuzz/bazel), then fuzzes from a work
# corpus that starts as a copy of testdata/fuzz/TARGET and is kept between runs
# ($RAYX_FUZZ_DIR/TARGET, default ~/.cache/rayx-fuzz/runs/TARGET: corpus/, crashes/, fuzz.log).
# Ends with the inputs executed and the crashes found (files in crashes/, each rerun by
# `BINARY crashes/FILE`, or in the ordinary build by `bazel run //PKG:TARGET_fuzz_test -- FILE`);
# exits 1 when libFuzzer found one.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]}
seconds=${2:?usage: tools/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]}
shift 2
case $target in
  frame) label=//engine/wire:frame_fuzz_test ;;
  envelope) label=//engine/node:envelope_fuzz_test ;;
  object_format) label=//engine/objects:object_format_fuzz_test ;;
  peer) label=//engine/cluster:peer_fuzz_test ;;
  records) label=//storage:records_fuzz_test ;;
  *) echo "fuzz.sh: unknown target $target (frame, envelope, object_format, peer, records)" >&2
     exit 2 ;;
esac
tools/setup.sh fuzz
base=${RAYX_FUZZ_OUTPUT_BASE:-$HOME/.cache/rayx-fuzz/bazel}
bazel=(bazel --output_base="$base")
"${bazel[@]}" build --config=fuzz --jobs="${RAYX_FUZZ_JOBS:-2}" "$label"
pkg=${label#//}
binary=$("${bazel[@]}" info --config=fuzz bazel-bin)/${pkg%%:*}/${label##*:}

work=${RAYX_FUZZ_DIR:-$HOME/.cache/rayx-fuzz/runs}/$target
mkdir -p "$work/corpus" "$work/crashes"
cp -n "testdata/fuzz/$target"/* "$work/corpus/"
log=$work/fuzz.log
echo "fuzz.sh: $binary for $seconds s; corpus $work/corpus, log $log" >&2
# Leaks are left to the ASan suite: the envelope target's node lives as long as the process.
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:check_malloc_usable_size=0} \
  "$binary" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 -timeout=60 \
  -rss_limit_mb=4096 -artifact_prefix="$work/crashes/" "$@" >"$log" 2>&1 || status=$?
runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
echo "fuzz.sh: $target: ${runs:-?} inputs executed in $seconds s, exit status $status," \
  "$(ls "$work/crashes" | wc -l) files in $work/crashes" >&2
grep -E '^==[0-9]+==ERROR|SUMMARY|^(fuzz_driver|envelope_fuzz|frame_fuzz)' "$log" | head -20 >&2 || true
exit $(( status == 0 ? 0 : 1 ))
