#!/bin/bash
# SSH part of `make demo`: a demo trust domain, a CA, a policy; a
# loopback sshd using ssh-wid-helper as AuthorizedPrincipalsCommand; one
# workload gets a certificate from the serve daemon (JWT-SVID) and logs
# in; a second workload, not allowed by the policy, is refused; every
# decision is shown with its receipt id, and the journal is verified.
#
#   mk/demo-ssh.sh OUTDIR        (e.g. build/demo/ssh; needs `make` first)
#
# Everything the demo makes stays in OUTDIR for inspection: journal/,
# receipt.pub, the bundles and SVIDs, sshd_config and logs.  Runs as root
# (it logs into a dedicated unprivileged account, widssh, created if
# absent, as the e2e tests do) or as any user (then it logs into that
# user's own account).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: mk/demo-ssh.sh OUTDIR}
H=$ROOT/build/bin/ssh-wid-helper
WID=$ROOT/build/bin/wid
[ -x "$H" ] && [ -x "$WID" ] || { echo "demo-ssh: run make first" >&2; exit 2; }

# A previous run's working directory under /run (see below) goes too.
if [ -L "$OUT" ]; then
    rm -rf "$(readlink -f "$OUT")"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
chmod 0755 "$OUT"

# sshd runs the principals command as an unprivileged user (nobody, when
# we are root), which must reach the helper's configuration: a checkout
# under a 0700 /root is out of its reach.  Then the demo works under
# /run, and OUTDIR is a link to it.
searchable_chain() {
    local p
    p=$1
    while :; do
        (( (8#$(stat -c '%a' "$p") & 8#001) != 0 )) || return 1
        [ "$p" = / ] && return 0
        p=$(dirname "$p")
    done
}
if [ "$(id -u)" = 0 ] && ! searchable_chain "$OUT"; then
    REAL=$(mktemp -d /run/wid-demo-ssh.XXXXXX)
    chmod 0755 "$REAL"
    rmdir "$OUT"
    ln -s "$REAL" "$OUT"
    OUT=$REAL
fi
cd "$OUT"

if [ "$(id -u)" = 0 ]; then
    USER_NAME=widssh
    id "$USER_NAME" >/dev/null 2>&1 \
        || useradd -M -d /nonexistent -s /bin/sh -p '*' "$USER_NAME"
    CMD_USER=nobody
    mkdir -p /run/sshd
else
    USER_NAME=$(id -un)
    CMD_USER=$USER_NAME
fi

say() { printf '%s\n' "$*"; }

# Trust domain a.org: a JWT authority (made by the test tool mint-jwt) and
# an X.509 root (widpki); Ed25519 keys for the SSH CA and the receipts.
/usr/bin/python3 "$ROOT/tests/tools/mint-jwt" suite jwt >/dev/null
"$ROOT/tests/tools/widpki" td pki a.org >/dev/null
"$WID" keygen --out ca >/dev/null
"$WID" keygen --out receipt >/dev/null
"$H" pubkey --ca-key ca.key > ca_ssh.pub
cp jwt/a.org.json bundle-a.org.json
ssh-keygen -q -k -f revoked.krl /dev/null
chmod 0644 revoked.krl

mint() {   # mint SUB -> a JWT-SVID for the helper's audience
    /usr/bin/python3 - "$1" <<'PY'
import json, sys, time
from jwcrypto import jwk, jws
key = jwk.JWK.from_pem(open("jwt/keys/a-ec256.pem", "rb").read())
now = int(time.time())
claims = {"sub": sys.argv[1], "aud": ["ssh.demo"], "exp": now + 600,
          "iat": now}
t = jws.JWS(json.dumps(claims).encode())
t.add_signature(key, alg="ES256",
                protected=json.dumps({"alg": "ES256", "kid": "a-ec256",
                                      "typ": "JWT"}))
print(t.serialize(compact=True))
PY
}

cat > policy.yaml <<EOF
version: 1
rules:
  ssh_demo:
    allow: [ssh_issue, ssh_login]
    require_workload_identity:
      trust_domain: a.org
      path_prefixes: [/demo/deployer]
      credential_kinds: [jwt_svid, x509_svid]
    ssh:
      principals: [$USER_NAME]
      max_ttl_seconds: 300
      source_address: [127.0.0.0/8]
      extensions: [permit-pty]
EOF
chmod 0644 policy.yaml

mkdir -m 0755 journal
cp receipt.key receipt-login.key
chmod 0600 receipt-login.key
if [ "$(id -u)" = 0 ]; then chown "$CMD_USER" receipt-login.key journal; fi

cat > issuer.conf <<EOF
ca_key $OUT/ca.key
policy $OUT/policy.yaml
rule ssh_demo
audience ssh.demo
bundle a.org=$OUT/bundle-a.org.json
journal $OUT/journal
receipt_key $OUT/receipt.key
receipt_pubkey $OUT/receipt.pub
index $OUT/issued.jsonl
EOF
chmod 0600 issuer.conf
cat > helper.conf <<EOF
ca_pubkey $OUT/ca_ssh.pub
krl $OUT/revoked.krl
policy $OUT/policy.yaml
rule ssh_demo
journal $OUT/journal
receipt_key $OUT/receipt-login.key
EOF
chmod 0644 helper.conf

# sshd wants a root-owned helper in a directory nobody else can write.
# sshd runs AuthorizedPrincipalsCommand only from a path whose every
# directory is owned by root (or us), not group/world-writable and (for
# the command user) searchable: put the helper under OUT when OUT
# qualifies, else under build/ or /run.
safe_chain() {
    local p
    p=$(readlink -f "$1") || return 1
    while :; do
        set -- $(stat -c '%u %a' "$p") || return 1
        { [ "$1" = 0 ] || [ "$1" = "$(id -u)" ]; } || return 1
        (( (8#$2 & 8#022) == 0 )) || return 1
        (( (8#$2 & 8#001) != 0 )) || return 1
        [ "$p" = / ] && return 0
        p=$(dirname "$p")
    done
}
BIN=""
for cand in "$OUT" "$ROOT/build" /run; do
    if [ -d "$cand" ] && [ -w "$cand" ] && safe_chain "$cand"; then
        BIN=$(mktemp -d "$cand/wid-demo-ssh-bin.XXXXXX")
        break
    fi
done
[ -n "$BIN" ] || { echo "demo-ssh: no directory sshd accepts for the helper" >&2; exit 2; }
chmod 0755 "$BIN"
cp "$H" "$BIN/ssh-wid-helper"
chmod 0755 "$BIN/ssh-wid-helper"
ssh-keygen -q -t ed25519 -N '' -f host_ed25519
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > sshd_config <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $OUT/host_ed25519
PidFile $OUT/sshd.pid
TrustedUserCAKeys $OUT/ca_ssh.pub
RevokedKeys $OUT/revoked.krl
AuthorizedKeysFile none
AuthorizedPrincipalsCommand $BIN/ssh-wid-helper principals --config $OUT/helper.conf --user %u --type %t --cert %k --key-id %i --serial %s
AuthorizedPrincipalsCommandUser $CMD_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
LogLevel INFO
EOF
/usr/sbin/sshd -t -f sshd_config
/usr/sbin/sshd -D -e -f sshd_config 2> sshd.log &
SSHD=$!
"$H" serve --config issuer.conf --socket "$OUT/issue.sock" 2> serve.log &
SERVE=$!
cleanup() {
    kill "$SSHD" "$SERVE" 2>/dev/null || true
    wait "$SSHD" "$SERVE" 2>/dev/null || true
    case "$BIN" in "$OUT"/*) ;; *) rm -rf "$BIN" ;; esac
}
trap cleanup EXIT
for _ in $(seq 100); do
    [ -S issue.sock ] && (echo > /dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
    sleep 0.05
done

ssh_login() {   # KEY CERT
    ssh -F /dev/null -p "$PORT" -i "$1" -o CertificateFile="$2" \
        -o IdentitiesOnly=yes -o IdentityAgent=none \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o LogLevel=ERROR -l "$USER_NAME" 127.0.0.1 \
        'echo "logged in as $(id -un)"'
}

last_login_receipt() {
    "$WID" journal query journal --surface ssh_login --json | tail -1 \
        | /usr/bin/python3 -c 'import json,sys
t = sys.stdin.read().strip()
if t:
    r = json.loads(t); print(r["verdict"], r["reason"], r["id"])
else:
    print("no ssh_login receipt")'
}

# The deployer must get a certificate and log in; the intruder must not.
unexpected=0
say "  sshd on 127.0.0.1:$PORT, login account $USER_NAME; receipts and certificates in $OUT"

for who in deployer intruder; do
    sub=spiffe://a.org/demo/$who
    ssh-keygen -q -t ed25519 -N '' -C "$who" -f "id_$who"
    mint "$sub" > "$who.jwt"
    say "  $sub asks ssh-wid-helper serve for a certificate"
    if "$H" issue --socket "$OUT/issue.sock" --pubkey "id_$who.pub" \
           --jwt "@$who.jwt" --out "id_$who-cert.pub" 2> "issue-$who.err"; then
        say "    issuance: $(sed 's/^ssh-wid-helper issue: //' "issue-$who.err")"
        ssh-keygen -L -f "id_$who-cert.pub" > "id_$who-cert.txt"
        if out=$(ssh_login "id_$who" "id_$who-cert.pub" 2>/dev/null); then
            say "    ssh:      $out; login decision: $(last_login_receipt)"
            [ "$who" = deployer ] || unexpected=1
        else
            say "    ssh:      refused; login decision: $(last_login_receipt)"
            unexpected=1
        fi
    else
        say "    issuance: $(sed 's/^ssh-wid-helper issue: //' "issue-$who.err")"
        say "    no certificate, so no login"
        [ "$who" = intruder ] || unexpected=1
    fi
done

cleanup
trap - EXIT
"$WID" journal query journal > receipts.txt
if verified=$("$WID" journal verify journal --pubkey receipt.pub 2>&1); then
    say "  wid journal verify journal --pubkey receipt.pub: $(tail -1 <<< "$verified")"
else
    say "  wid journal verify journal --pubkey receipt.pub FAILED: $(tail -1 <<< "$verified")"
    unexpected=1
fi
exit "$unexpected"
