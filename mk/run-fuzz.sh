#!/bin/sh
# Run each libFuzzer target for SECONDS on a copy of its seed corpus.
# New inputs go to build/fuzz/corpus/<name>; crashes to build/fuzz/crashes/.
# Every crash found must become a regression input under tests/fuzz/corpus.
set -u
secs=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build/fuzz/crashes"
failed=""
for bin in "$@"; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    work="$root/build/fuzz/corpus/$name"
    mkdir -p "$work"
    echo "fuzz $name: ${secs}s"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$root/build/fuzz/crashes/$name-" \
        "$work" "$root/tests/fuzz/corpus/$name" > "$root/build/fuzz/$name.log" 2>&1
    then
        failed="$failed $name"
        tail -40 "$root/build/fuzz/$name.log"
    fi
    grep -E '^stat::number_of_executed_units' "$root/build/fuzz/$name.log" \
        | sed "s/^/  $name /"
done
if [ -n "$failed" ]; then
    echo "fuzz targets failed:$failed" >&2
    exit 1
fi
