#!/bin/sh
# Run each libFuzzer target for SECONDS on a copy of its seed corpus.
# New inputs go to build/fuzz/corpus/<name>; crashes to build/fuzz/crashes/.
# Every crash found must become a regression input under tests/fuzz/corpus.
#
#   run-fuzz.sh SECONDS BIN...           fuzz (make fuzz)
#   run-fuzz.sh --smoke SECONDS BIN...   smoke (make fuzz-smoke, make test):
#       replay every committed seed once (regression inputs included),
#       then fuzz SECONDS from the seeds alone into a throwaway directory,
#       so the time does not grow with what long runs have collected
set -u
smoke=0
if [ "${1:-}" = "--smoke" ]; then
    smoke=1
    shift
fi
secs=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build/fuzz/crashes"
failed=""
start=$(date +%s)
for bin in "$@"; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    seeds="$root/tests/fuzz/corpus/$name"
    log="$root/build/fuzz/$name.log"
    if [ "$smoke" = 1 ]; then
        work=$(mktemp -d "${TMPDIR:-/tmp}/wid-fuzz-smoke.XXXXXX")
        echo "fuzz-smoke $name: seeds, then ${secs}s"
        if ! "$bin" -runs=0 \
                -artifact_prefix="$root/build/fuzz/crashes/$name-" \
                "$seeds" > "$log" 2>&1 \
            || ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
                -artifact_prefix="$root/build/fuzz/crashes/$name-" \
                "$work" "$seeds" >> "$log" 2>&1
        then
            failed="$failed $name"
            tail -40 "$log"
        fi
        rm -rf "$work"
    else
        work="$root/build/fuzz/corpus/$name"
        mkdir -p "$work"
        echo "fuzz $name: ${secs}s"
        if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$root/build/fuzz/crashes/$name-" \
            "$work" "$seeds" > "$log" 2>&1
        then
            failed="$failed $name"
            tail -40 "$log"
        fi
    fi
    grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/  $name /"
done
echo "fuzz: $# targets in $(( $(date +%s) - start ))s"
if [ -n "$failed" ]; then
    echo "fuzz targets failed:$failed" >&2
    exit 1
fi
