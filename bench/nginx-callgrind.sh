#!/bin/bash
# Instructions per request (callgrind) of one nginx worker, per benchmark
# scenario: what the module adds, in a measure the machine's load does not
# change.  One nginx, `master_process off` (the process valgrind watches
# is the one that serves), the module loaded; the baselines are server
# blocks of the same nginx without `wid` (the handler returns at once).
#
#   bench/nginx-callgrind.sh [N] [SCENARIO...]
#   bench/nginx-callgrind.sh --cpu [ROUNDS] [SCENARIO...]
#   bench/nginx-callgrind.sh --ab OTHER_MODULE.so [ROUNDS]
#   bench/nginx-callgrind.sh --alloc [N] [SCENARIO...]
#
# Scenarios: a (plain TLS), a_hdr ((a) with e_es256's Authorization
# header, which nginx parses but no module reads), b (ssl_verify_client on), c (wid X.509-SVID),
# d ((c) with a new TLS connection per request), e_rs256, e_es256 (same
# token), f (a new ES256 token per request).
# Each: a warm-up of 200 requests on one keepalive connection, counters
# zeroed, N requests (default 2000), counters dumped; Ir/request = the
# dump's total / N.  Profiles are kept in $WID_CG_OUT (default: a
# temporary directory, removed) as callgrind.out.*.<scenario>.
#
# --cpu: no valgrind; the same nginx with one worker on core 0 and the
# load generator (32 keepalive connections, 3 s) on core 1; the worker's
# CPU time (schedstat) per request, median over ROUNDS (default 5)
# rounds of alternating order: a same-instance check of the real cost.
#
# --ab: this build's module against another build of it (OTHER_MODULE.so,
# e.g. `make BUILD=build-b` of a changed tree): two nginx, each one worker
# on core 0, the idle one asleep; the load generator on core 1 polling
# (--spin), 1 s a run.  Each round measures (a_hdr), (e_es256) on both,
# (b), (c) on both, in alternating order; printed are the medians (and
# quartiles) over ROUNDS (default 21) of each round's ratios and of the
# per-request CPU difference, other minus this.  Pairs measured seconds
# apart share the machine's state, so the difference of two builds shows
# through noise that moves whole runs by 10 %.
#
# --alloc: no valgrind; the same nginx with bench/alloc-trace.c preloaded,
# the scenarios in turn (each a warm-up and N requests, default 1000), and
# for each the heap blocks it allocated that were still allocated once it
# ended, grouped by call stack (bench/alloc-trace.py): caches and
# per-thread state made lazily inside a request, which stay for the life
# of the worker among the requests' short-lived blocks.
#
# Needs: make all bench-tools; valgrind; run as root (nginx runs as root
# to read the temporary PKI).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=callgrind
rounds=5
n=2000
if [ "${1:-}" = --cpu ]; then
    mode=cpu
    shift
    rounds=${1:-5}
    shift || true
elif [ "${1:-}" = --alloc ]; then
    mode=alloc
    shift
    n=${1:-1000}
    shift || true
elif [ "${1:-}" = --ab ]; then
    mode=ab
    other=$(realpath "${2:?--ab needs the other module}")
    rounds=${3:-21}
    set -- a_hdr b c e_es256
else
    n=${1:-2000}
    shift || true
fi
scen=${*:-a b c e_rs256 e_es256 f}

build=$root/build
mod=$build/nginx/ngx_http_wid_module.so
loadgen=$build/bench/loadgen
jwtmint=$build/bench/jwtmint
wid=$build/bin/wid
widpki=$root/tests/tools/widpki
tracer=$build/bench/alloc-trace.so
for f in "$mod" "$loadgen" "$jwtmint" "$wid" "$tracer"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f (make all bench-tools)" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/wid-cg-XXXXXX)
keep=${WID_CG_OUT:-}
cleanup() {
    for pidf in "$dir/nginx.pid" "$dir/other.pid"; do
        if [ -f "$pidf" ]; then
            kill "$(cat "$pidf")" 2>/dev/null || true
            sleep 1
        fi
    done
    if [ -n "${vgpid:-}" ]; then
        kill "$vgpid" 2>/dev/null || true
        wait "$vgpid" 2>/dev/null || true
    fi
    if [ -n "$keep" ]; then
        mkdir -p "$keep" && cp "$dir"/callgrind.out.* "$keep"/ 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

pki=$dir/pki
mkdir -p "$pki" "$dir/html" "$dir/logs" "$dir/tmp"
"$widpki" server "$pki" "$pki/server" >/dev/null
"$widpki" td "$pki" x509.bench.test >/dev/null
"$widpki" leaf "$pki" x509.bench.test "$pki/client" \
    --id spiffe://x509.bench.test/bench/client >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$pki/es256.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$pki/rs256.key" 2>/dev/null
"$jwtmint" jwks "$pki/jwt.bench.test.json" "es1=$pki/es256.key" \
    "rs1=$pki/rs256.key" >/dev/null
"$wid" keygen --out "$pki/receipt" >/dev/null
printf 'wid benchmark static file %.0s' $(seq 24) > "$dir/html/index.html"
echo >> "$dir/html/index.html"
mint() {   # mint KEY KID JTI COUNT OUT
    "$jwtmint" mint --key "$1" --kid "$2" \
        --sub spiffe://jwt.bench.test/bench/client --aud bench \
        --jti "$3" --count "$4" --out "$5" >/dev/null
}
mint "$pki/es256.key" es1 same-es 1 "$dir/es256.txt"
mint "$pki/rs256.key" rs1 same-rs 1 "$dir/rs256.txt"
case " $scen " in *" f "*)
    if [ "$mode" = cpu ]; then
        # Enough distinct tokens for 3 s per round (each used once).
        mint "$pki/es256.key" es1 miss-a $((rounds * 8000 + 100)) "$dir/m1" &
        mint "$pki/es256.key" es1 miss-b $((rounds * 8000 + 100)) "$dir/m2"
        wait
        cat "$dir/m1" "$dir/m2" > "$dir/miss.txt"
        head -n 200 "$dir/miss.txt" > "$dir/miss-warm.txt"
        tail -n +201 "$dir/miss.txt" | split -l 16000 - "$dir/miss-round."
    else
        mint "$pki/es256.key" es1 miss $((n + 200)) "$dir/miss.txt"
        head -n 200 "$dir/miss.txt" > "$dir/miss-warm.txt"
        tail -n +201 "$dir/miss.txt" > "$dir/miss-run.txt"
    fi
esac

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pa=$(port); pb=$(port); pc=$(port); pe=$(port)

common="ssl_certificate $pki/server.pem; ssl_certificate_key $pki/server.key;
        ssl_protocols TLSv1.2 TLSv1.3; access_log off; root $dir/html;"
nginx_conf() {   # nginx_conf NAME MODULE PORT_A PORT_B PORT_C PORT_E
    local name=$1 module=$2 pa=$3 pb=$4 pc=$5 pe=$6
    mkdir -p "$dir/$name.journal"
    cat > "$dir/$name.conf" <<EOF
load_module $module;
daemon off;
master_process off;
worker_processes 1;
pid $dir/$name.pid;
error_log $dir/logs/$name.error.log warn;
user root;
events { worker_connections 1024; }
http {
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    wid_trust_bundle x509.bench.test $pki/x509.bench.test.pem;
    wid_trust_bundle jwt.bench.test  $pki/jwt.bench.test.json;
    wid_policy       $root/bench/conf/policy.yaml;
    wid_journal      $dir/$name.journal key=$pki/receipt.key fsync=interval;
    wid_cache_zone   wid_$name:64m;
    server { listen 127.0.0.1:$pa ssl; $common }
    server { listen 127.0.0.1:$pb ssl; $common
        ssl_verify_client on; ssl_verify_depth 2;
        ssl_client_certificate $pki/x509.bench.test.pem; }
    server { listen 127.0.0.1:$pc ssl; $common
        ssl_verify_client optional_no_ca;
        location / { wid on; wid_credential x509; wid_rule bench_x509;
                     wid_operation \$request_method; } }
    server { listen 127.0.0.1:$pe ssl; $common
        location / { wid on; wid_credential jwt; wid_jwt_audience bench;
                     wid_rule bench_jwt; wid_operation \$request_method; } }
}
EOF
    if [ "$mode" != callgrind ] && [ "$mode" != alloc ]; then
        sed -i 's/^master_process off;/master_process on;\nworker_cpu_affinity 01;/' \
            "$dir/$name.conf"
    fi
}
nginx_conf nginx "$mod" "$pa" "$pb" "$pc" "$pe"

if [ "$mode" = ab ]; then
    # The other build: the same servers on ports of its own.
    oa=$(port); ob=$(port); oc=$(port); oe=$(port)
    nginx_conf other "$other" "$oa" "$ob" "$oc" "$oe"
    /usr/sbin/nginx -p "$dir/" -c "$dir/other.conf" \
        > "$dir/logs/other.stdout.log" 2>&1 &
fi

if [ "$mode" = alloc ]; then
    WID_ALLOC_TRACE=$dir/alloc.trace LD_PRELOAD=$tracer \
        /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" \
        > "$dir/logs/stdout.log" 2>&1 &
elif [ "$mode" != callgrind ]; then
    /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" \
        > "$dir/logs/stdout.log" 2>&1 &
else
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out.%p" \
        /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" \
        > "$dir/logs/valgrind.log" 2>&1 &
fi
vgpid=$!
# await_nginx PIDFILE PORT: until it accepts and, with a master process,
# has its worker (60 s at most).
await_nginx() {
    for _ in $(seq 300); do
        [ -f "$1" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1',$2),1)" 2>/dev/null \
            && { [ "$mode" = callgrind ] || [ "$mode" = alloc ] \
                 || pgrep -P "$(cat "$1")" >/dev/null; } \
            && return
        sleep 0.2
    done
}
await_nginx "$dir/nginx.pid" "$pe"

lg() {   # lg PORT N [loadgen options...]
    local p=$1 cnt=$2
    shift 2
    "$loadgen" -q --json -c 1 -t 1 -n "$cnt" --timeout 60 "$@" \
        "https://127.0.0.1:$p/index.html"
}

# worker_ns WORKER: CPU time of all the worker's threads and of its child
# processes' (the journal's fsync helper), in ns.
worker_ns() {
    local p tasks=/proc/$1/task/*/schedstat
    for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        tasks="$tasks /proc/$p/task/*/schedstat"
    done
    cat $tasks 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# cpu_per_request WORKER PORT SECONDS [loadgen options...]: the worker's
# CPU time (schedstat) per 2xx response of one run of 32 keepalive
# connections from core 1, in ns.
cpu_per_request() {
    local w=$1 p=$2 secs=$3 t0 t1 out ok
    shift 3
    t0=$(worker_ns "$w")
    out=$(taskset -c 1 "$loadgen" -q --json -c 32 -t 1 -d "$secs" "$@" \
          "https://127.0.0.1:$p/index.html")
    t1=$(worker_ns "$w")
    ok=$(printf '%s' "$out" | sed -n 's/.*"2xx":\([0-9]*\).*/\1/p')
    echo $(( (t1 - t0) / ok ))
}

scen_args() {
    case $1 in
    a) args=("$pa") ;;
    a_hdr) args=("$pa" -H "Authorization: Bearer $(cat "$dir/es256.txt")") ;;
    b) args=("$pb" --cert "$pki/client.pem" --key "$pki/client.key") ;;
    c) args=("$pc" --cert "$pki/client.pem" --key "$pki/client.key") ;;
    d) args=("$pc" --new-conn --cert "$pki/client.pem" --key "$pki/client.key") ;;
    e_es256) args=("$pe" -H "Authorization: Bearer $(cat "$dir/es256.txt")") ;;
    e_rs256) args=("$pe" -H "Authorization: Bearer $(cat "$dir/rs256.txt")") ;;
    f) args=("$pe") ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
    esac
}

if [ "$mode" = ab ]; then
    await_nginx "$dir/other.pid" "$oe"
    worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)
    oworker=$(pgrep -P "$(cat "$dir/other.pid")" | head -1)
    # label, worker, scenario, port: the other build's on its own ports.
    steps=("a_hdr $worker a_hdr $pa" "e_this $worker e_es256 $pe"
           "e_other $oworker e_es256 $oe" "b $worker b $pb"
           "c_this $worker c $pc" "c_other $oworker c $oc")
    for st in "${steps[@]}"; do                     # warm-up
        set -- $st
        scen_args "$3"
        lg "$4" 500 "${args[@]:1}" >/dev/null
    done
    for r in $(seq "$rounds"); do
        order=("${steps[@]}")
        if [ $((r % 2)) = 0 ]; then
            order=(); for ((i = ${#steps[@]} - 1; i >= 0; i--)); do
                order+=("${steps[$i]}"); done
        fi
        for st in "${order[@]}"; do
            set -- $st
            scen_args "$3"
            echo "$r $1 $(cpu_per_request "$2" "$4" 1 --spin "${args[@]:1}")" \
                >> "$dir/ab.txt"
        done
    done
    echo "this:  $mod"
    echo "other: $other"
    python3 - "$dir/ab.txt" <<'PY'
import statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    r, name, ns = line.split()
    rounds.setdefault(r, {})[name] = int(ns)
rows = [
    ("(e) this, ratio to a_hdr", lambda x: x["a_hdr"] / x["e_this"], "%.3f"),
    ("(e) other, ratio to a_hdr", lambda x: x["a_hdr"] / x["e_other"], "%.3f"),
    ("(c) this, ratio to (b)", lambda x: x["b"] / x["c_this"], "%.3f"),
    ("(c) other, ratio to (b)", lambda x: x["b"] / x["c_other"], "%.3f"),
    ("(e) other - this, ns/req", lambda x: x["e_other"] - x["e_this"], "%.0f"),
    ("(c) other - this, ns/req", lambda x: x["c_other"] - x["c_this"], "%.0f"),
]
print("%-28s %9s %9s %9s" % ("", "median", "q1", "q3"))
for label, f, fmt in rows:
    v = sorted(f(x) for x in rounds.values())
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    print("%-28s %9s %9s %9s" % (label, fmt % statistics.median(v),
                                 fmt % q[0], fmt % q[2]))
print("%d rounds; worker CPU per request (schedstat), ns:" % len(rounds))
for name in ("a_hdr", "e_this", "e_other", "b", "c_this", "c_other"):
    print("  %-8s %6d" % (name, statistics.median(x[name] for x in rounds.values())))
PY
    exit 0
fi

if [ "$mode" = alloc ]; then
    for s in $scen; do
        scen_args "$s"
        start=$(date +%s%N)
        if [ "$s" = f ]; then
            lg "${args[0]}" 200 --tokens "$dir/miss-warm.txt" >/dev/null
            lg "${args[0]}" "$n" --tokens "$dir/miss-run.txt" >/dev/null
        else
            lg "${args[0]}" 200 "${args[@]:1}" >/dev/null
            lg "${args[0]}" "$n" "${args[@]:1}" >/dev/null
        fi
        sleep 0.5          # the worker closes the connection
        echo "$s $start $(date +%s%N)" >> "$dir/alloc.marks"
    done
    kill "$vgpid"          # a clean exit writes the trace's maps
    wait "$vgpid" 2>/dev/null || true
    vgpid=
    rm -f "$dir/nginx.pid"
    python3 "$root/bench/alloc-trace.py" "$dir/alloc.trace" "$dir/alloc.marks"
    exit 0
fi

if [ "$mode" = cpu ]; then
    # 3 s runs, scenarios alternating over $rounds rounds; the median of
    # each.
    worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)
    run=$scen
    for s in $run; do
        scen_args "$s"
        if [ "$s" = f ]; then
            lg "${args[0]}" 200 --tokens "$dir/miss-warm.txt" >/dev/null
        else
            lg "${args[0]}" 500 "${args[@]:1}" >/dev/null
        fi
    done
    rfiles=($(ls "$dir"/miss-round.* 2>/dev/null || true))
    for r in $(seq "$rounds"); do
        order=$run
        [ $((r % 2)) = 0 ] && order=$(echo $run | tr ' ' '\n' | tac | tr '\n' ' ')
        for s in $order; do
            scen_args "$s"
            if [ "$s" = f ]; then
                args+=(--tokens "${rfiles[$((r - 1))]}")
            fi
            echo "$s $(cpu_per_request "$worker" "${args[0]}" 3 \
                        "${args[@]:1}")" >> "$dir/cpu.txt"
        done
    done
    printf '%-10s %14s   %s\n' scenario "ns/req median" "all rounds"
    for s in $run; do
        awk -v s="$s" '$1 == s { print $2 }' "$dir/cpu.txt" | sort -n \
            | awk -v s="$s" '{ v[NR] = $1; all = all " " $1 }
                END { printf "%-10s %14d  %s\n", s, v[int((NR + 1) / 2)], all }'
    done
    exit 0
fi

dumps=0
printf '%-10s %12s %10s\n' scenario Ir/request 2xx
for s in $scen; do
    scen_args "$s"
    p=${args[0]}
    if [ "$s" = f ]; then
        lg "$p" 200 --tokens "$dir/miss-warm.txt" "${args[@]:1}" >/dev/null
    else
        lg "$p" 200 "${args[@]:1}" >/dev/null
    fi
    callgrind_control -z "$vgpid" >/dev/null 2>&1
    if [ "$s" = f ]; then
        out=$(lg "$p" "$n" --tokens "$dir/miss-run.txt" "${args[@]:1}")
    else
        out=$(lg "$p" "$n" "${args[@]:1}")
    fi
    callgrind_control -d "$s" "$vgpid" >/dev/null 2>&1
    dumps=$((dumps + 1))
    f=$dir/callgrind.out.$vgpid.$dumps
    for _ in $(seq 50); do [ -s "$f" ] && break; sleep 0.2; done
    mv "$f" "$dir/callgrind.out.$s"
    ok=$(printf '%s' "$out" | sed -n 's/.*"2xx":\([0-9]*\).*/\1/p')
    tot=$(awk '/^summary:/ { print $2; exit }' "$dir/callgrind.out.$s")
    printf '%-10s %12d %10s\n' "$s" $((tot / n)) "$ok"
done
