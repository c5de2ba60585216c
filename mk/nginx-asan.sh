#!/bin/sh
# make test-nginx-asan: the nginx tests (prove -r t/) against the module
# built with ASan+UBSan, in Debian's stock /usr/sbin/nginx.
#
#   mk/nginx-asan.sh MODULE.so WID_CLI [TEST...]     (default: t/)
#
# nginx itself is not instrumented, so the ASan runtime is preloaded into
# it (it must come first in the process) by a wrapper that the harness
# runs as $WID_NGINX; workers are forked, not exec'ed, and inherit it.  Leak detection is off: nginx frees its pools at exit on
# its own terms and the master exits without freeing cycle memory.
# A UBSan report goes to stderr, which nginx points at its error log, and
# the worker exits with code 1 (in a worker the UBSan runtime does not
# honour abort_on_error): the harness's crash check (no_crashes) fails on
# "exited with code" as on "exited on signal".  ASan
# reports go to files under build/asan-nginx/reports; any such file fails
# the run, whatever prove says.
set -u

module=$1
wid=$2
shift 2
[ $# -gt 0 ] || set -- t/
root=$(cd "$(dirname "$0")/.." && pwd)
reports=$root/build/asan-nginx/reports
libasan=$(${CC:-cc} -print-file-name=libasan.so)

[ -f "$module" ] || { echo "nginx-asan: $module missing" >&2; exit 2; }
[ -f "$libasan" ] || { echo "nginx-asan: libasan not found" >&2; exit 2; }
rm -rf "$reports" && mkdir -p "$reports"

# Only nginx gets the runtime: the harness starts $WID_NGINX.
wrapper=$root/build/asan-nginx/nginx
cat > "$wrapper" <<WRAP
#!/bin/sh
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
exec /usr/sbin/nginx "\$@"
WRAP
chmod +x "$wrapper"

export WID_NGINX="$wrapper"
export WID_MODULE="$module"
export WID_BIN="$wid"
# The ASan-built CLI: its leaks are checked (the unit tests' settings).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/cli-asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/cli-ubsan"

echo "nginx-asan: prove with the ASan+UBSan module (no sanitizer report may appear)"
cd "$root" && prove -r "$@"
rc=$?

if [ -n "$(ls -A "$reports")" ]; then
    echo "nginx-asan: sanitizer reports:" >&2
    for f in "$reports"/*; do
        echo "== $f" >&2
        head -60 "$f" >&2
    done
    exit 1
fi
# Success prints nothing more: prove's summary stays the last line.
exit $rc
