#!/bin/sh
# Install, only when missing, every Debian 12 package that the build, the
# tests, the demo and the benchmarks need.  Idempotent: a machine that has
# everything runs no apt-get at all.
set -eu

PKGS="
make gcc pkg-config ca-certificates curl openssl
nginx nginx-dev
libssl-dev libsodium-dev libjansson-dev libyaml-dev
libtss2-dev tpm2-tools swtpm swtpm-tools
openssh-server openssh-client
libcmocka-dev
wrk hyperfine
perl libio-socket-ssl-perl libnet-ssleay-perl libjson-perl libjson-pp-perl
libcrypt-jwt-perl libcryptx-perl
python3 python3-cryptography python3-jwcrypto
clang libclang-rt-14-dev llvm
valgrind linux-perf strace
"

missing=""
for p in $PKGS; do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$s" = "installed" ] || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run 'make deps' as root (apt-get install)" >&2
    exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; refresh once on failure.
if ! apt-get install -y -q --no-install-recommends $missing; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
fi
