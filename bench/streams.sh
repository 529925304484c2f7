#!/usr/bin/env bash
# Client-limit benchmarks, on demand (not a test): GET /v1/vms p50/p99 with no event stream open and with N open
# (real connections on the Unix socket), and the daemon's RSS before and with them.
#
#   bench/streams.sh [--streams N] [--calls N] [--daemon-root DIR]
#
# --daemon-root runs bin/jvirtd of another checkout (built there with scripts/lib.sh build_jar), e.g. an older
# tree for a before/after comparison. Everything it starts is ended by PID on exit; results go to stdout and to
# bench/results/streams-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

streams=1000
calls=200
daemon_root=""
while [ $# -gt 0 ]; do
    case "$1" in
        --streams) streams="$2"; shift ;;
        --calls) calls="$2"; shift ;;
        --daemon-root) daemon_root="$2"; shift ;;
        *) die "unknown option $1 (usage: bench/streams.sh [--streams N] [--calls N] [--daemon-root DIR])" ;;
    esac
    shift
done

install_deps
build_jar
root="${daemon_root:-$JVIRT_ROOT}"
[ -x "$root/bin/jvirtd" ] && [ -f "$root/target/jvirt.jar" ] || die "$root has no bin/jvirtd and target/jvirt.jar"

work=$(mktemp -d /tmp/jvirt-bench-streams.XXXXXX)
pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    rm -rf "$work"
}
trap cleanup EXIT

state="$work/state"; run="$work/run"; sock="$run/jvirtd.sock"
mkdir -p "$state"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
[ -f "$guest/accel-probe.json" ] && cp "$guest/accel-probe.json" "$state/accel-probe.json"
# no VM is started: the accelerator does not matter, so skip the probe
# never the host's own network: no default NAT network (a tree older than networks has no such flag)
no_net=()
if grep -q -- --no-default-network -r "$root/src/main/java/io/jvirt/api" 2>/dev/null; then no_net=(--no-default-network); fi
"$root/bin/jvirtd" --state-dir "$state" --run-dir "$run" --accel tcg "${no_net[@]}" >"$work/jvirtd.log" 2>&1 &
jpid=$!; pids+=("$jpid")
for _ in $(seq 1 300); do grep -q "jvirtd ready" "$work/jvirtd.log" 2>/dev/null && break; sleep 0.1; done
grep -q "jvirtd ready" "$work/jvirtd.log" || { cat "$work/jvirtd.log"; die "jvirtd did not start"; }
sleep 8   # settled (the launcher trims the native heap every 5 s)
idle_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$jpid/status")

log "GET /v1/vms x $calls with no stream, then with $streams event streams open (daemon from $root)"
"$JAVA_HOME/bin/java" "$JVIRT_ROOT/bench/StreamsBench.java" "$sock" "$jpid" "$streams" "$calls" | tee "$work/out.txt"
declare -A R
while read -r k v; do R[$k]=$v; done <"$work/out.txt"

mkdir -p "$JVIRT_ROOT/bench/results"
out="$JVIRT_ROOT/bench/results/streams-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "jvirtd from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, $(date -u)"
    printf '%-40s %s\n' "daemon RSS idle (kB)" "$idle_kb"
    printf '%-40s %s / %s (%s calls, %s unanswered in 10 s)\n' "list p50 / p99, no stream (ms)" \
        "${R[list_none_p50_ms]}" "${R[list_none_p99_ms]}" "${R[list_none_calls]}" "${R[list_none_unanswered_10s]}"
    printf '%-40s %s of %s in %s ms\n' "event streams answered" "${R[streams_answered]}" "${R[streams_requested]}" \
        "${R[streams_open_ms]}"
    printf '%-40s %s / %s (%s calls, %s unanswered in 10 s)\n' "list p50 / p99, with streams (ms)" \
        "${R[list_with_streams_p50_ms]}" "${R[list_with_streams_p99_ms]}" "${R[list_with_streams_calls]}" \
        "${R[list_with_streams_unanswered_10s]}"
    printf '%-40s %s -> %s (+%s kB, %s kB per stream)\n' "daemon RSS no streams -> streams (kB)" \
        "${R[rss_kb_no_streams]}" "${R[rss_kb_with_streams]}" "$(( R[rss_kb_with_streams] - R[rss_kb_no_streams] ))" \
        "$(awk -v a="${R[rss_kb_no_streams]}" -v b="${R[rss_kb_with_streams]}" -v n="${R[streams_answered]}" \
            'BEGIN {printf "%.1f", (n > 0 ? (b - a) / n : 0)}')"
} | tee "$out"
log "saved $out"
