#!/bin/bash
# make demo: wid in front of Debian's stock nginx, end to end.
#
#   mk/demo.sh [--no-build] [DIR]          (DIR defaults to build/demo)
#   make demo                              (the same, via make)
#
# Builds wid (make deps, make), makes a demo trust domain with two
# workloads and a second trust domain that plays the forger, writes a
# policy, starts /usr/sbin/nginx with the wid module on 127.0.0.1, sends
# real requests with curl (X.509-SVID client certificates and JWT-SVID
# bearer tokens), prints each decision and its receipt, verifies the
# journal and one exported receipt offline, and stops nginx.
#
# It is also a smoke test: every step has an expected outcome, and the
# script exits 1 if any step does not behave as expected (2 on a usage
# error).  Everything it makes stays in DIR for inspection;
# command output goes to DIR/logs/, nginx's logs to DIR/nginx/logs/.
#
# WID_DEMO_POLICY=FILE runs the demo with another policy (its rule must
# be named orders_api): the decisions that change are reported.

set -u
umask 022

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_FIRST=1
if [ "${1:-}" = "--no-build" ]; then
    BUILD_FIRST=0
    shift
fi
case "${1:-}" in
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "usage: mk/demo.sh [--no-build] [DIR]" >&2; exit 2 ;;
esac
# The build directory (make passes its BUILD); binaries come from there.
BUILDDIR=${WID_BUILD:-$ROOT/build}
DIR=${1:-$BUILDDIR/demo}

WID=$BUILDDIR/bin/wid
MODULE=$BUILDDIR/nginx/ngx_http_wid_module.so
NGINX=${WID_NGINX:-/usr/sbin/nginx}
WIDPKI=$ROOT/tests/tools/widpki

TD=demo.example                 # the demo trust domain
FORGER=forger.example           # another trust domain: the forger's
AUD=orders.demo.example         # audience of the JWT-SVIDs
WEB=spiffe://$TD/frontend/web   # allowed by the policy
BATCH=spiffe://$TD/batch/report # not allowed: outside /frontend

CHECKS=0
FAILS=0
NGINX_PID=

# ---- output ------------------------------------------------------------

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
    B= G= R= D= N=
fi

# Paths are shown relative to the repository when they are inside it.
rel() {
    case "$1" in
        "$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;;
        *) printf '%s' "$1" ;;
    esac
}

heading() { printf '\n%s%s%s\n' "$B" "$1" "$N"; }

# One check: pass or fail, counted for the final verdict.
pass() { CHECKS=$((CHECKS + 1)); }
fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    printf '  %sUNEXPECTED:%s %s\n' "$R" "$N" "$*"
}

# A setup step that must work for anything after it to mean something:
# `must LOG DESCRIPTION CMD...` runs CMD with its output in DIR/logs/LOG.
must() {
    local log=$DIR/logs/$1 what=$2
    shift 2
    if ! "$@" >>"$log" 2>&1; then
        fail "$what failed; the end of $(rel "$log"):"
        tail -n 15 "$log" | sed 's/^/    /'
        finish
    fi
    pass
}

finish() {
    stop_nginx
    echo
    if [ "$FAILS" -eq 0 ]; then
        printf '%sdemo: all %d checks behaved as expected.%s' "$G" \
            "$CHECKS" "$N"
        printf ' Everything is in %s/.\n' "$(rel "$DIR")"
        exit 0
    fi
    printf '%sdemo: %d of %d checks did not behave as expected.%s' "$R" \
        "$FAILS" "$CHECKS" "$N"
    printf ' Logs: %s/logs, %s/nginx/logs.\n' "$(rel "$DIR")" "$(rel "$DIR")"
    exit 1
}

stop_nginx() {
    [ -n "$NGINX_PID" ] || return 0
    local pid=$NGINX_PID i
    NGINX_PID=
    # QUIT: graceful; each worker signs a final checkpoint as it exits.
    kill -QUIT "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        fail "nginx (pid $pid) did not stop on QUIT within 10 s"
    fi
    wait "$pid" 2>/dev/null
    return 0
}

trap 'stop_nginx' EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM HUP
# Output piped into a reader that went away: stop nginx all the same.
trap 'exec >/dev/null 2>&1; exit 141' PIPE

# JWT-SVID authority keys and tokens (Crypt::JWT, as the nginx tests do;
# nothing of wid's own code signs what wid then verifies).
jwt_authority() {   # KID KEY.pem JWKS.json
    perl -MCrypt::PK::ECC -MJSON::PP -e '
        my ($kid, $keyf, $jwksf) = @ARGV;
        my $pk = Crypt::PK::ECC->new;
        $pk->generate_key("secp256r1");
        umask 077;
        open my $k, ">", $keyf or die "$keyf: $!";
        print $k $pk->export_key_pem("private");
        close $k;
        my $jwk = $pk->export_key_jwk("public", 1);
        $jwk->{kid} = $kid;
        $jwk->{use} = "jwt-svid";
        umask 022;
        open my $j, ">", $jwksf or die "$jwksf: $!";
        print $j JSON::PP->new->canonical->pretty->encode(
            { keys => [$jwk], spiffe_sequence => 1 });
        close $j;
        print "$keyf $jwksf\n";' "$@"
}

jwt_mint() {        # KEY.pem KID SUB AUD > token
    perl -MCrypt::JWT=encode_jwt -MCrypt::PK::ECC -e '
        my ($keyf, $kid, $sub, $aud) = @ARGV;
        my $now = time;
        print encode_jwt(
            payload => { sub => $sub, aud => [$aud], iat => $now,
                         exp => $now + 900 },
            alg => "ES256", key => Crypt::PK::ECC->new($keyf),
            extra_headers => { kid => $kid, typ => "JWT" }), "\n";' "$@"
}

# ---- 0. start clean ----------------------------------------------------

case "$DIR" in
    /*) ;;
    *) DIR=$PWD/$DIR ;;
esac
# Rerunnable, but never wipes a directory the demo did not make.
if [ -e "$DIR" ] && [ ! -f "$DIR/.wid-demo" ] &&
   [ -n "$(ls -A "$DIR" 2>/dev/null || echo x)" ]; then
    echo "demo: $DIR exists and was not made by the demo; not touching it" >&2
    exit 2
fi
# Never leave an nginx of an earlier (interrupted) run serving from DIR.
old=$(cat "$DIR/nginx/nginx.pid" 2>/dev/null)
if [ -n "$old" ] && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null \
        | grep -qF -- "-p $DIR/nginx/"; then
    kill -QUIT "$old" 2>/dev/null
    for i in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
rm -rf "$DIR"
mkdir -p "$DIR/logs" "$DIR/pki" "$DIR/jwt" "$DIR/www/orders" \
         "$DIR/nginx/logs" "$DIR/nginx/tmp" || exit 2
echo "made by mk/demo.sh; rerunning the demo deletes this directory" \
    >"$DIR/.wid-demo"

printf '%swid demo%s: identity, policy and receipts in stock nginx\n' \
    "$B" "$N"
printf '%sfiles: %s/   logs: %s/logs/, %s/nginx/logs/%s\n' "$D" \
    "$(rel "$DIR")" "$(rel "$DIR")" "$(rel "$DIR")" "$N"

# ---- 1. build ----------------------------------------------------------

heading "Build"
if [ "$BUILD_FIRST" = 1 ]; then
    # A first build takes a few minutes; say so before it starts.
    printf '  %-16s ' "make deps, make"
    if make -C "$ROOT" --no-print-directory all >"$DIR/logs/build.log" 2>&1
    then
        pass
        printf 'ok %s(%s)%s\n' "$D" "$(rel "$DIR/logs/build.log")" "$N"
    else
        echo
        fail "the build failed; the end of $(rel "$DIR/logs/build.log"):"
        tail -n 15 "$DIR/logs/build.log" | sed 's/^/    /'
        finish
    fi
else
    printf '  %-16s skipped (--no-build)\n' "make deps, make"
fi
for f in "$WID" "$MODULE" "$NGINX" "$WIDPKI"; do
    if [ ! -x "$f" ] && [ ! -f "$f" ]; then
        fail "missing $f (run make)"
        finish
    fi
done
for tool in curl perl openssl; do
    command -v "$tool" >/dev/null || { fail "missing $tool (make deps)"; finish; }
done

# ---- 2. identities, policy, keys --------------------------------------

heading "Trust domains, workloads, policy"
P=$DIR/pki
# widpki runs are independent once the CAs exist: run them side by side.
bg() {              # NAME CMD...: output in DIR/logs/pki-NAME.log
    local name=$1
    shift
    "$@" >"$DIR/logs/pki-$name.log" 2>&1 &
    JOBS+=("$!")
}
wait_all() {
    local j ok=1
    for j in "${JOBS[@]}"; do wait "$j" || ok=0; done
    JOBS=()
    if [ "$ok" != 1 ]; then
        fail "$1 failed; see $(rel "$DIR/logs")/pki-*.log"
        tail -n 5 "$DIR"/logs/pki-*.log | sed 's/^/    /'
        finish
    fi
    pass
}
JOBS=()
bg td-$TD "$WIDPKI" td "$P" "$TD"
bg td-$FORGER "$WIDPKI" td "$P" "$FORGER"
bg server "$WIDPKI" server "$P" "$P/server" --cn localhost --dns localhost \
    --ip 127.0.0.1
wait_all "widpki td"
bg web "$WIDPKI" leaf "$P" "$TD" "$P/web" --id "$WEB"
bg batch "$WIDPKI" leaf "$P" "$TD" "$P/batch" --id "$BATCH"
# The forgery: the other domain's CA signs a leaf claiming ours.
bg forged "$WIDPKI" leaf "$P" "$FORGER" "$P/forged" --id "$WEB"
wait_all "widpki leaf"
must jwt.log "JWT authority of $TD" \
    jwt_authority "$TD-1" "$DIR/jwt/$TD.key" "$P/$TD.jwt.json"
must jwt.log "JWT authority of $FORGER" \
    jwt_authority "$FORGER-1" "$DIR/jwt/$FORGER.key" "$P/$FORGER.jwt.json"
WEB_JWT=$(jwt_mint "$DIR/jwt/$TD.key" "$TD-1" "$WEB" "$AUD" 2>>"$DIR/logs/jwt.log")
FORGED_JWT=$(jwt_mint "$DIR/jwt/$FORGER.key" "$FORGER-1" "$WEB" "$AUD" \
    2>>"$DIR/logs/jwt.log")
if [ -z "$WEB_JWT" ] || [ -z "$FORGED_JWT" ]; then
    fail "minting JWT-SVIDs failed (see $(rel "$DIR/logs/jwt.log"))"
    finish
fi
printf '%s\n' "$WEB_JWT" >"$DIR/jwt/web.jwt"
printf '%s\n' "$FORGED_JWT" >"$DIR/jwt/forged.jwt"
pass

if [ -n "${WID_DEMO_POLICY:-}" ]; then
    cp "$WID_DEMO_POLICY" "$DIR/policy.yaml" ||
        { fail "cannot read WID_DEMO_POLICY=$WID_DEMO_POLICY"; finish; }
else
    cat >"$DIR/policy.yaml" <<EOF
# The demo policy: who may use the orders API of $TD.
# nginx names the rule per location (wid_rule orders_api) and passes the
# HTTP method as the operation.
version: 1
rules:
  orders_api:
    default: block
    allow: [GET, HEAD, POST]
    deny: [DELETE]                # nobody deletes orders through nginx
    require_workload_identity:
      trust_domain: $TD
      path_prefixes: [/frontend]  # /frontend/web yes, /batch/report no
      credential_kinds: [x509_svid, jwt_svid]
EOF
fi
must policy.log "wid policy lint policy.yaml" \
    "$WID" policy lint "$DIR/policy.yaml"
must keygen.log "wid keygen" "$WID" keygen --out "$DIR/receipt"
# A plain file: a directory URL would make nginx's index module redirect
# internally, and the new location decides (and records) once more.
printf '{"orders": 3, "served_by": "nginx behind wid"}\n' \
    >"$DIR/www/orders/today.json"

printf '  %-16s %s\n' "$TD" \
    "CA + bundles: pki/$TD.pem (X.509), pki/$TD.jwt.json (JWT)"
printf '  %-16s %s\n' "$FORGER" \
    "another trust domain, also trusted by nginx, for its own IDs only"
printf '  %-16s %-36s %s\n' "workload web" "$WEB" "pki/web.pem, jwt/web.jwt"
printf '  %-16s %-36s %s\n' "workload batch" "$BATCH" "pki/batch.pem"
printf '  %-16s %-36s %s\n' "forgery" "$WEB" \
    "signed by $FORGER's CA and key"
printf '  %-16s %s\n' "policy" \
    "policy.yaml: rule orders_api, GET/HEAD/POST for $TD/frontend/*"
printf '  %-16s %s\n' "receipt key" \
    "receipt.key (0600, read by the nginx master), receipt.pub"

# ---- 3. nginx ----------------------------------------------------------

heading "nginx"
NGX=$DIR/nginx
PORT=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                  LocalPort => 0, ReuseAddr => 1) or die;
    print $s->sockport;')
if [ -z "$PORT" ]; then
    fail "no free port on 127.0.0.1"
    finish
fi

# As root the workers run as www-data, which must be able to read the
# bundles (re-read on rotation) and the site; the master alone reads the
# keys and creates the journal directory for the workers.
USER_LINE=
WORKERS_AS=$(id -un)
if [ "$(id -u)" = 0 ]; then
    WORKERS_AS=www-data
    id www-data >/dev/null 2>&1 || WORKERS_AS=nobody
    if ! runuser -u "$WORKERS_AS" -- test -r "$P/$TD.pem" -a \
            -r "$DIR/www/orders/today.json" 2>/dev/null; then
        WORKERS_AS=root
        printf '  %snote: %s cannot reach %s; workers run as root%s\n' "$D" \
            "www-data" "$(rel "$DIR")" "$N"
    fi
    USER_LINE="user $WORKERS_AS;"
fi

cat >"$NGX/nginx.conf" <<EOF
# The demo's nginx: stock /usr/sbin/nginx with the wid module.
load_module $MODULE;
daemon off;
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log info;
$USER_LINE

events { worker_connections 256; }

http {
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path       $NGX/tmp/proxy;
    fastcgi_temp_path     $NGX/tmp/fastcgi;
    uwsgi_temp_path       $NGX/tmp/uwsgi;
    scgi_temp_path        $NGX/tmp/scgi;

    # One bundle per trust domain; they are never merged.
    wid_trust_bundle $TD     $P/$TD.pem;
    wid_trust_bundle $TD     $P/$TD.jwt.json;
    wid_trust_bundle $FORGER $P/$FORGER.pem;
    wid_trust_bundle $FORGER $P/$FORGER.jwt.json;
    wid_policy       $DIR/policy.yaml;
    wid_journal      $DIR/journal key=$DIR/receipt.key
                     checkpoint_interval=200ms;
    wid_cache_zone   wid:1m;

    log_format wid '\$remote_addr "\$request" \$status \$wid_verdict '
                   '\$wid_reason \$wid_spiffe_id \$wid_credential '
                   '\$wid_rule \$wid_receipt_id';
    access_log $NGX/logs/access.log wid;

    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate     $P/server.pem;
        ssl_certificate_key $P/server.key;
        ssl_verify_client   optional_no_ca;   # wid, not nginx, validates
        root $DIR/www;

        add_header X-Wid-Reason    \$wid_reason always;
        add_header X-Wid-Spiffe-Id \$wid_spiffe_id always;
        add_header X-Wid-Receipt   \$wid_receipt_id always;

        location /orders/ {
            wid              on;
            wid_rule         orders_api;
            wid_jwt_audience $AUD;      # accept X.509- and JWT-SVIDs
        }
    }
}
EOF

must nginx-t.log "nginx -t" \
    "$NGINX" -t -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log"
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" \
    >"$DIR/logs/nginx.log" 2>&1 &
NGINX_PID=$!
ready=0
for i in $(seq 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" != 1 ]; then
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
    fail "nginx did not start; the end of $(rel "$NGX/logs/error.log"):"
    tail -n 10 "$NGX/logs/error.log" | sed 's/^/    /'
    finish
fi
pass
URL=https://localhost:$PORT/orders/today.json
printf '  %-16s %s\n' "nginx -t" "ok ($(rel "$NGX/nginx.conf"))"
printf '  %-16s %s\n' "running" \
    "$NGINX, pid $NGINX_PID, 2 workers as $WORKERS_AS, $URL"

# ---- 4. requests -------------------------------------------------------

heading "Requests: curl $URL"
printf '  %s%-17s %-3s  %-26s %-34s %s%s\n' "$D" "caller" "st" "reason" \
    "SPIFFE ID (verified)" "receipt" "$N"

# Tokens go in header files, not on the command line (ps shows argv).
printf 'Authorization: Bearer %s\n' "$WEB_JWT" >"$DIR/jwt/web.hdr"
printf 'Authorization: Bearer %s\n' "$FORGED_JWT" >"$DIR/jwt/forged.hdr"

# label | expected status | expected reason | expected SPIFFE ID |
# credential (cert:NAME or jwt:NAME) | method
REQUESTS=(
    "web X.509 GET|200|ok|$WEB|cert:web|GET"
    "web JWT GET|200|ok|$WEB|jwt:web|GET"
    "web JWT DELETE|403|policy.operation_denied|$WEB|jwt:web|DELETE"
    "batch X.509 GET|403|policy.path_prefix|$BATCH|cert:batch|GET"
    "nobody GET|401|policy.identity_missing|||GET"
    "forged X.509 GET|401|x509.trust_domain_mismatch||cert:forged|GET"
    "forged JWT GET|401|jwt.kid_unknown||jwt:forged|GET"
)

header() {      # NAME: its value in the response headers of this request
    sed -n "s/^$1: *//Ip" "$hdr" | tr -d '\r' | head -n 1
}
: >"$DIR/decisions.txt"
n=0
for req in "${REQUESTS[@]}"; do
    n=$((n + 1))
    IFS='|' read -r label want_st want_reason want_id cred method <<<"$req"
    args=(-X "$method")
    case "$cred" in
        cert:*) args+=(--cert "$P/${cred#cert:}.pem" --key "$P/${cred#cert:}.key") ;;
        jwt:*)  args+=(-H "@$DIR/jwt/${cred#jwt:}.hdr") ;;
    esac
    hdr=$DIR/logs/request-$n.headers
    st=$(curl -sS --max-time 10 --cacert "$P/server-ca/root.pem" \
            --resolve "localhost:$PORT:127.0.0.1" -D "$hdr" \
            -o "$DIR/logs/request-$n.body" -w '%{http_code}' \
            "${args[@]}" "$URL" 2>"$DIR/logs/request-$n.err")
    reason=$(header X-Wid-Reason)
    id=$(header X-Wid-Spiffe-Id)
    receipt=$(header X-Wid-Receipt)
    challenge=$(header WWW-Authenticate)
    short=${receipt:0:12}
    [ -n "$receipt" ] && short="$short…"
    printf '  %-17s %-3s  %-26s %-34s %s\n' "$label" "$st" "${reason:--}" \
        "${id:--}" "${short:--}"
    printf '%s|%s|%s|%s|%s\n' "$label" "$st" "$reason" "$id" "$receipt" \
        >>"$DIR/decisions.txt"

    if [ "$st" = 000 ]; then
        fail "curl: $(tail -n 1 "$DIR/logs/request-$n.err")"
    elif [ "$st" != "$want_st" ] || [ "$reason" != "$want_reason" ] ||
         [ "$id" != "$want_id" ]; then
        fail "expected $want_st $want_reason ${want_id:-(no identity)}"
    elif [[ ! "$receipt" =~ ^wr1-[0-9a-f]{32}$ ]]; then
        fail "no receipt id in X-Wid-Receipt"
    elif [ "$st" = 401 ] && [[ "$challenge" != Bearer\ realm=* ]]; then
        fail "401 without a WWW-Authenticate: Bearer challenge"
    elif [ "$st" != 401 ] && [ -n "$challenge" ]; then
        fail "a challenge on a $st answer"
    else
        pass
    fi
    [ "$st" = 401 ] && last_challenge=$challenge
done
printf '  %s(a 401 challenges: WWW-Authenticate: %s)%s\n' "$D" \
    "${last_challenge:-}" "$N"

# ---- 5. receipts -------------------------------------------------------

heading "Receipts: wid journal query $(rel "$DIR/journal") --json"
# Workers buffer receipts and write them out at least every 200 ms (at
# each checkpoint tick): wait until every decision above is on disk.
for i in $(seq 50); do
    "$WID" journal query "$DIR/journal" --json >"$DIR/receipts.jsonl" \
        2>"$DIR/logs/query.log"
    missing=0
    while IFS='|' read -r _ _ _ _ rid; do
        [ -n "$rid" ] || continue
        grep -qF "\"$rid\"" "$DIR/receipts.jsonl" || missing=1
    done <"$DIR/decisions.txt"
    [ "$missing" = 0 ] && break
    sleep 0.1
done
# One line per decision above, read back from the journal by receipt id:
# what the client was told is what was recorded, one receipt each.
perl -MJSON::PP -e '
    binmode STDOUT, ":utf8";
    my ($jsonl, $decisions) = @ARGV;
    my (%r, $bad, $hash, $n);
    open my $j, "<", $jsonl or die "$jsonl: $!";
    while (<$j>) {
        next unless /^\{/;
        my $x = decode_json($_);
        $r{$x->{id}} = $x;
    }
    open my $d, "<", $decisions or die "$decisions: $!";
    printf "  %-13s %-12s %-24s %-3s %-7s %-6s %s\n", "receipt", "time",
        "writer (an nginx worker)", "seq", "verdict", "op", "credential";
    while (<$d>) {
        chomp;
        my ($label, $st, $reason, $id, $rid) = split /\|/, $_, -1;
        $n++;
        my $x = $r{$rid};
        if (!$x) {
            printf "  %-13s UNEXPECTED: not in the journal\n",
                substr($rid, 0, 12) . "\x{2026}";
            $bad++;
            next;
        }
        my $v = $x->{verdict} // "";
        my $ok = $v eq ($reason eq "ok" ? "allow" : "deny")
            && ($x->{reason} // "") eq $reason
            && ($x->{identity}{spiffe_id} // "") eq $id;
        $hash //= $x->{policy}{hash};
        my ($t) = ($x->{time} // "") =~ /T([0-9:.]+)Z$/;
        printf "  %-13s %-12s %-24s %-3s %-7s %-6s %s%s\n",
            substr($rid, 0, 12) . "\x{2026}", $t // "-", $x->{writer},
            $x->{seq}, $v, $x->{operation} // "-",
            $x->{identity}{credential_kind} // "-",
            $ok ? "" : "  UNEXPECTED: differs from the response";
        $bad++ unless $ok;
    }
    my $total = keys %r;
    if ($total != $n) {
        printf "  UNEXPECTED: %d receipts in the journal for %d requests\n",
            $total, $n;
        $bad++;
    }
    printf "  each also records rule, reason, host, path, peer and the"
        . " policy sha256 %s\x{2026}\n", substr($hash // "", 0, 12);
    exit($bad ? 1 : 0);' "$DIR/receipts.jsonl" "$DIR/decisions.txt"
if [ $? -eq 0 ]; then pass; else fail "journal and responses disagree"; fi

# ---- 6. verification ---------------------------------------------------

heading "Verification: offline, with nothing but receipt.pub"
# The receipt of the X.509 forgery: a deny an attacker would like gone.
FORGED_RID=$(grep '^forged X.509' "$DIR/decisions.txt" | cut -d'|' -f5)
# A receipt is provable once a signed checkpoint covers it (200 ms here).
proved=0
for i in $(seq 50); do
    if "$WID" journal prove "$DIR/journal" "$FORGED_RID" \
            --out "$DIR/proof.json" >"$DIR/logs/prove.log" 2>&1; then
        proved=1
        break
    fi
    sleep 0.1
done

out=$("$WID" journal verify "$DIR/journal" --pubkey "$DIR/receipt.pub" \
          2>&1 | tee "$DIR/logs/verify.log" | tail -n 1)
rc=${PIPESTATUS[0]}
printf '  %-51s %s\n' "wid journal verify journal --pubkey receipt.pub" "$out"
if [ "$rc" = 0 ]; then pass; else fail "journal does not verify (exit $rc)"; fi

if [ "$proved" = 1 ]; then
    pass
    printf '  %-51s %s\n' "wid journal prove journal ID --out proof.json" \
        "ID: the forged X.509's deny, ${FORGED_RID:0:12}…"
    "$WID" receipt verify "$DIR/proof.json" --pubkey "$DIR/receipt.pub" \
        >"$DIR/logs/receipt-verify.log" 2>&1
    rc=$?
    out=$(sed -n 's/^receipt wr1-[0-9a-f]* verified: included in /verified: in /p' \
              "$DIR/logs/receipt-verify.log")
    printf '  %-51s %s\n' "wid receipt verify proof.json --pubkey receipt.pub" \
        "${out:-exit $rc}"
    if [ "$rc" = 0 ]; then pass; else fail "receipt proof does not verify"; fi

    # Tamper with a copy: turn the deny into an allow (the verdict is the
    # 18th byte of the decision, after the head: docs/receipts.md) and
    # recompute the receipt id as a forger would; the signed Merkle root
    # still gives it away.
    perl -MJSON::PP -MMIME::Base64 -MDigest::SHA=sha256_hex -e '
        my ($in, $out) = @ARGV;
        open my $f, "<", $in or die "$in: $!";
        local $/;
        my $p = JSON::PP->new->utf8->decode(<$f>);
        my $b = decode_base64($p->{receipt});
        my $o = 8;
        my $str = sub { $o += 2 + unpack("n", substr($b, $o, 2)) };
        $str->();
        $o += 8;
        $o += 1 + (ord(substr($b, $o, 1)) ? 32 : 0);
        $str->() for 1 .. 5;
        substr($b, $o + 17, 1) = chr(1);
        $p->{receipt} = encode_base64($b, "");
        $p->{id} = "wr1-" . substr(sha256_hex("\0" . $b), 0, 32);
        $p->{decoded}{id} = $p->{id};
        $p->{decoded}{verdict} = "allow";
        open my $o, ">", $out or die "$out: $!";
        print $o JSON::PP->new->utf8->canonical->pretty->encode($p);' \
        "$DIR/proof.json" "$DIR/proof-tampered.json" \
        >"$DIR/logs/tampered.log" 2>&1
    "$WID" receipt verify "$DIR/proof-tampered.json" \
        --pubkey "$DIR/receipt.pub" >>"$DIR/logs/tampered.log" 2>&1
    rc=$?
    code=$(sed -n 's/^wid receipt verify: \([a-z0-9_]*\.[a-z0-9_]*\).*/\1/p' \
               "$DIR/logs/tampered.log")
    printf '  %-51s %s\n' "the same proof edited: deny -> allow, new id" \
        "rejected: ${code:-exit $rc}"
    if [ "$rc" = 1 ]; then pass; else fail "tampered proof: exit $rc, not 1"; fi
else
    fail "wid journal prove: $(tail -n 1 "$DIR/logs/prove.log")"
fi

# ---- 7. stop (under the verification heading) --------------------------

pid=$NGINX_PID
stop_nginx
if kill -0 "$pid" 2>/dev/null; then
    fail "nginx pid $pid still running"
else
    pass
fi
out=$("$WID" journal verify "$DIR/journal" --pubkey "$DIR/receipt.pub" \
          2>&1 | tee "$DIR/logs/verify-final.log" | tail -n 1)
rc=${PIPESTATUS[0]}
printf '  %-51s %s\n' "nginx stopped (QUIT); wid journal verify again" "$out"
if [ "$rc" = 0 ] && ! grep -q WARNING "$DIR/logs/verify-final.log"; then
    pass
else
    fail "after shutdown the journal must verify with every receipt signed"
fi

# ---- 8. SSH ------------------------------------------------------------

heading "SSH"
if "$ROOT/mk/demo-ssh.sh" "$DIR/ssh"; then
    pass
else
    fail "mk/demo-ssh.sh $(rel "$DIR/ssh") failed"
fi

finish
