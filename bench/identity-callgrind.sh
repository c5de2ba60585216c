#!/bin/bash
# Instructions per verification (callgrind), for each JWT-SVID type next
# to the raw signature verify of the same token, and the 2-level X.509
# chain.  Instruction counts do not depend on the load of the machine.
#
#   bench/identity-callgrind.sh BENCH_BIN DATA_DIR [N]
set -euo pipefail
bin=$1 dir=$2 n=${3:-200}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

ir() {   # ir FUNCTION ARGS... -> instructions per call of FUNCTION
    local fn=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        --toggle-collect="$fn" "$bin" "$dir" --count "$n" "$@" 2>&1 \
        | awk -v n="$n" '/Collected/ { printf "%d", $4 / n }'
}

printf '%-20s %12s %12s %8s\n' credential "Ir/verify" "raw Ir" ratio
for t in ES256 RS256 PS256; do
    j=$(ir wid_jwtsvid_verify "$t")
    r=$(ir wid_jws_verify "$t" raw)
    awk -v t="JWT-SVID $t" -v j="$j" -v r="$r" \
        'BEGIN { printf "%-20s %12d %12d %8.3f\n", t, j, r, j / r }'
done
x=$(ir wid_x509svid_verify X509)
printf '%-20s %12d %12s %8s\n' "X.509-SVID 2-level" "$x" - -
echo
echo "raw = wid_jws_verify (digest + public-key verify) of the same token;"
echo "valgrind cannot run SHA-NI, so SHA-256 costs more instructions here"
echo "than it takes time on the real CPU."
