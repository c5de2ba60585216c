#!/bin/sh
# Run every cmocka test binary given; fail if any fails.
# Sanitizer builds abort on the first report.
set -u
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export WID_PKI="${WID_PKI:-$(cd "$(dirname "$0")/.." && pwd)/tests/tools/widpki}"

failed=""
for t in "$@"; do
    if ! "$t"; then
        failed="$failed $(basename "$t")"
    fi
done
if [ -n "$failed" ]; then
    echo "unit tests failed:$failed" >&2
    exit 1
fi
echo "unit tests: $# binaries passed"
