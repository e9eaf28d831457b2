# Sourced by check_format.sh and format.sh: sets clang_format to the clang-format 14 binary.
# Another major version formats differently, so only 14 is accepted. CLANG_FORMAT overrides.
clang_format=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$clang_format" >/dev/null; then
  echo "$clang_format not found: install it with tools/setup.sh (Debian package clang-format-14)" >&2
  exit 2
fi
if ! "$clang_format" --version | grep -q 'version 14\.'; then
  echo "$clang_format is not clang-format 14: $("$clang_format" --version)" >&2
  exit 2
fi
