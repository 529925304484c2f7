#!/usr/bin/env bash
# Storage benchmarks, on demand (not a test): latency of volume create / info / resize / clone / delete through
# the API, and of listing a pool of N volumes (each listed volume costs one qemu-img run).
#
#   bench/run-storage.sh [--volumes N]
#
# The jvirtd it starts is ended by PID on exit; results go to stdout and bench/results/storage-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

n=50
while [ $# -gt 0 ]; do
    case "$1" in
        --volumes) n="$2"; shift ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

build_jar
work=$(mktemp -d /tmp/jvirt-storage-bench.XXXXXX)
jpid=""
cleanup() {
    set +e
    [ -n "$jpid" ] && kill "$jpid" 2>/dev/null && wait "$jpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

state="$work/state"; run="$work/run"; sock="$run/jvirtd.sock"
"$JVIRT_ROOT/bin/jvirtd" --state-dir "$state" --run-dir "$run" --accel tcg --no-default-network >"$work/jvirtd.log" 2>&1 &
jpid=$!
for _ in $(seq 1 300); do grep -q "jvirtd ready" "$work/jvirtd.log" 2>/dev/null && break; sleep 0.1; done
grep -q "jvirtd ready" "$work/jvirtd.log" || { cat "$work/jvirtd.log"; die "jvirtd did not start"; }

api() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

out="$JVIRT_ROOT/bench/results/storage-$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p "$(dirname "$out")"
{
    echo "storage bench: $n volumes, $(nproc) cores, $(qemu-img --version | head -1)"
    t=$(date +%s%N)
    for i in $(seq 1 "$n"); do
        [ "$(api -X POST -d "{\"name\":\"v$i.qcow2\",\"size\":\"1G\"}" http://j/v1/pools/default/volumes)" = 201 ] || die "create v$i"
    done
    echo "create qcow2 1G:        $(( $(ms "$t") / n )) ms each (mean of $n)"
    t=$(date +%s%N)
    for i in $(seq 1 "$n"); do api http://j/v1/pools/default/volumes/v$i.qcow2 >/dev/null; done
    echo "info:                   $(( $(ms "$t") / n )) ms each"
    t=$(date +%s%N); api http://j/v1/pools/default/volumes >/dev/null
    echo "list of $n volumes:     $(ms "$t") ms"
    t=$(date +%s%N); api -X POST -d '{"size":"2G"}' http://j/v1/pools/default/volumes/v1.qcow2/resize >/dev/null
    echo "resize:                 $(ms "$t") ms"
    t=$(date +%s%N); api -X POST -d '{"name":"c.qcow2"}' http://j/v1/pools/default/volumes/v1.qcow2/clone >/dev/null
    echo "clone (empty 2G qcow2): $(ms "$t") ms"
    t=$(date +%s%N)
    for i in $(seq 1 "$n"); do api -X DELETE http://j/v1/pools/default/volumes/v$i.qcow2 >/dev/null; done
    echo "delete (scans the pool's backing files): $(( $(ms "$t") / n )) ms each, pool shrinking from $n"
} | tee "$out"
