#!/bin/bash
# make valgrind: every unit test binary and a representative set of wid
# CLI invocations under valgrind memcheck, full leak check.  Any memcheck
# error or leak fails; so does a CLI exit code other than the expected one.
#
#   mk/valgrind.sh BUILD_DIR UNIT_BIN...
#
# Unit tests run with --error-exitcode=1 (they exit 0 when they pass).
# The CLI's own exit code 1 means "rejected", so CLI runs use a distinct
# --error-exitcode (99) and expected exit codes are checked separately.
set -u

build=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
wid=$root/$build/bin/wid
export WID_BIN=$wid
export WID_PKI=$root/tests/tools/widpki

# VALGRIND_OPTS (read by valgrind itself) adds options, e.g.
# --track-origins=yes when chasing an uninitialised value.
VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --num-callers=30)

failed=()
start=$(date +%s)

for t in "$@"; do
    if ! "${VG[@]}" --error-exitcode=1 "$t" > "$t.valgrind.log" 2>&1; then
        failed+=("$(basename "$t")")
        tail -40 "$t.valgrind.log" >&2
    fi
done
echo "valgrind: $# unit test binaries run ($((${#failed[@]})) failed)"

# --- CLI --------------------------------------------------------------------

d=$(mktemp -d /tmp/wid-valgrind-XXXXXX)
trap 'rm -rf "$d"' EXIT
py=/usr/bin/python3
"$WID_PKI" td "$d/pki" example.org --intermediates 1 >/dev/null
"$WID_PKI" td "$d/pki" other.org >/dev/null
"$WID_PKI" leaf "$d/pki" example.org "$d/svid" \
    --id spiffe://example.org/svc/web >/dev/null
"$WID_PKI" leaf "$d/pki" other.org "$d/forged" \
    --id spiffe://example.org/svc/web >/dev/null
"$WID_PKI" leaf "$d/pki" example.org "$d/two" \
    --id spiffe://example.org/a --id spiffe://example.org/b >/dev/null
$py "$root/tests/tools/mint-jwt" suite "$d/jwt" >/dev/null
tok=$d/jwt/tok

cat > "$d/policy.yaml" <<'EOF'
version: 1
rules:
  api:
    default: block
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [/svc]
EOF
printf 'version: 1\nrules:\n  api:\n    alow: [GET]\n' > "$d/typo.yaml"

# The journal: receipts appended by `wid journal append`.
rcpt() {
    printf '{"time_ms":%d000,"surface":"http","verdict":"%s","reason":"%s",' \
        "$(( $(date +%s) - 60 + $1 ))" "$2" "$3"
    printf '"rule":"api","operation":"GET","identity":{"spiffe_id":'
    printf '"spiffe://example.org/svc/web","trust_domain":"example.org",'
    printf '"credential_kind":"x509_svid"},"request":{"method":"GET",'
    printf '"host":"h","path":"/svc","peer":"10.0.0.1"}}\n'
}
for i in 0 1 2 3 4 5; do
    if [ $((i % 2)) = 0 ]; then rcpt $i allow ok; else rcpt $i deny policy.path_prefix; fi
done > "$d/receipts.jsonl"

ncli=0
# cli EXPECTED_EXIT ARGS... [< input via CLI_STDIN]
cli() {
    local want=$1 rc
    shift
    ncli=$((ncli + 1))
    "${VG[@]}" --error-exitcode=99 "$wid" "$@" < "${CLI_STDIN:-/dev/null}" \
        > "$d/out" 2> "$d/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        failed+=("wid $* (exit $rc, expected $want)")
        tail -40 "$d/err" >&2
    fi
}

cli 0 --version
cli 0 --help
cli 2 no-such-command
cli 0 reasons
cli 0 reasons --markdown
cli 0 id parse spiffe://example.org/svc/web
cli 1 id parse spiffe://example.org/svc/../web
cli 1 id parse "spiffe://EXAMPLE.org/$(head -c 3000 /dev/zero | tr '\0' a)"
cli 0 bundle show "example.org=$d/pki/example.org.pem"
cli 0 bundle show "a.org=$d/jwt/a.org.json"
cli 0 bundle show "a.org=$d/jwt/jwt_bundle.json"
head -c 100 "$d/pki/example.org.pem" > "$d/torn.pem"
cli 1 bundle show "example.org=$d/torn.pem"
cli 0 svid verify --bundle "example.org=$d/pki/example.org.pem" \
    --x509 "$d/svid.pem"
cli 1 svid verify --bundle "example.org=$d/pki/example.org.pem" \
    --bundle "other.org=$d/pki/other.org.pem" --x509 "$d/forged.pem" --json
cli 1 svid verify --bundle "example.org=$d/pki/example.org.pem" \
    --x509 "$d/two.pem"
cli 1 svid verify --bundle "example.org=$d/pki/example.org.pem" \
    --x509 "$d/torn.pem"
for t in valid_es256 valid_ps384 valid_nokid; do
    cli 0 svid verify --bundle "a.org=$d/jwt/a.org.json" \
        --bundle "b.org=$d/jwt/b.org.json" --jwt "@$tok/$t.jwt" \
        --audience wid-test --json
done
for t in alg_none hs256_pubkey rs256_on_ec der_es256 dup_payload \
         json_serialization kid_other_td exp_past sub_root_path bad_base64_sig; do
    cli 1 svid verify --bundle "a.org=$d/jwt/a.org.json" \
        --bundle "b.org=$d/jwt/b.org.json" --jwt "@$tok/$t.jwt" \
        --audience wid-test
done
cli 2 svid verify --x509 "$d/svid.pem"
cli 0 policy lint "$d/policy.yaml"
cli 1 policy lint "$d/typo.yaml"
for f in "$root"/policy/examples/*.yaml; do
    cli 0 policy lint "$f"
done
cli 0 policy explain "$d/policy.yaml" --rule api \
    --spiffe-id spiffe://example.org/svc/web --credential x509_svid \
    --operation GET --json
cli 1 policy explain "$d/policy.yaml" --rule api \
    --spiffe-id spiffe://example.org/svc-evil --credential jwt_svid
cli 0 keygen --out "$d/k"
cli 2 keygen --out "$d/k"
cli 0 policy sign "$d/policy.yaml" --key "$d/k.key"
cli 0 policy verify "$d/policy.yaml" --pubkey "$d/k.pub"
cp "$d/policy.yaml" "$d/p2.yaml" && cp "$d/policy.yaml.sig" "$d/p2.yaml.sig"
echo "# changed" >> "$d/p2.yaml"
cli 1 policy verify "$d/p2.yaml" --pubkey "$d/k.pub"
CLI_STDIN=$d/receipts.jsonl cli 0 journal append "$d/j" --key "$d/k.key" \
    --writer w1 --checkpoint-every 4 --fsync never
id=$(awk 'NR==2 {print $2}' "$d/out")
cli 0 journal verify "$d/j" --pubkey "$d/k.pub"
cli 0 journal verify "$d/j" --pubkey "$d/k.pub" --json
cli 0 journal query "$d/j" --json
cli 0 journal query "$d/j" --verdict deny --spiffe-id-prefix spiffe://example.org
cli 0 journal export "$d/j" --format ocsf
cli 0 journal prove "$d/j" "$id" --out "$d/proof.json"
cli 0 receipt verify "$d/proof.json" --pubkey "$d/k.pub"
sed 's/"receipt": "V0lE/"receipt": "V0lF/' "$d/proof.json" > "$d/bad-proof.json"
cmp -s "$d/proof.json" "$d/bad-proof.json" && failed+=("proof not altered")
cli 1 receipt verify "$d/bad-proof.json" --pubkey "$d/k.pub"
# Damage the journal: a flipped byte in the middle of the segment.
seg=$(ls "$d"/j/w1/seg-*)
size=$(stat -c %s "$seg")
printf '\xff' | dd of="$seg" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cli 1 journal verify "$d/j" --pubkey "$d/k.pub"
cli 2 journal verify "$d/nonexistent" --pubkey "$d/k.pub"
# Seal it as if its writer had died: the damage gets a gap (exit 1); then
# it is marked closed and left alone.
rm -f "$d/j/w1/closed"
cli 1 journal seal "$d/j" --key "$d/k.key"
cli 0 journal seal "$d/j" --key "$d/k.key" --prefix w
cli 2 journal seal "$d/nonexistent" --key "$d/k.key"

end=$(date +%s)
echo "valgrind: $ncli wid CLI invocations run, $((end - start)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'valgrind: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "valgrind: clean (no memcheck error, no leak)"
