#!/usr/bin/env bash
# Restart time, on demand (not a test): with N tiny guests running (1, 10, 30 by default; 128 MiB each, TCG), the
# daemon is killed with -9 and started again; measured from its exec: until the API answers (GET /v1/vms), until
# every VM is reconciled (no VM busy with job "recovery"), and whether every QEMU was adopted (same pid, running).
# The target (issue 13): answering within 1 s + 20 ms per running VM. main(ms): the daemon's own count, from its
# main() to serving (the rest of "answers" is the launcher and the JVM's start).
#
#   bench/restart.sh [--counts "1 10 30"] [--mem MIB] [--daemon-root DIR]
#
# --daemon-root runs bin/jvirtd of another checkout (built there), e.g. an older tree for a before/after.
# Everything it starts is ended by PID on exit; results go to stdout and bench/results/restart-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

counts=(1 10 30)
mem=128   # the tiny guest's kernel alone is 66 MB (loaded whole)
daemon_root=""
while [ $# -gt 0 ]; do
    case "$1" in
        --counts) read -r -a counts <<<"$2"; shift ;;
        --mem) mem="$2"; shift ;;
        --daemon-root) daemon_root="$2"; shift ;;
        *) die "unknown option $1 (usage: bench/restart.sh [--counts \"1 10 30\"] [--mem MIB] [--daemon-root DIR])" ;;
    esac
    shift
done

install_deps
build_jar
root="${daemon_root:-$JVIRT_ROOT}"
[ -x "$root/bin/jvirtd" ] && [ -f "$root/target/jvirt.jar" ] || die "$root has no bin/jvirtd and target/jvirt.jar"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest" >/dev/null

work=$(mktemp -d /tmp/jvirt-bench-restart.XXXXXX)
state="$work/state"; run="$work/run"; sock="$run/jvirtd.sock"
daemon_pid=""
mkdir -p "$state" "$run"
mkdir -p "$JVIRT_ROOT/bench/results"
out="$JVIRT_ROOT/bench/results/restart-$(date -u +%Y%m%dT%H%M%SZ).txt"
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
names() { api http://j/v1/vms 2>/dev/null | python3 -c 'import json,sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))'; }
cleanup() {
    set +e
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        for vm in $(names); do api -X POST "http://j/v1/vms/$vm/destroy" >/dev/null 2>&1; done
        kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    fi
    # QEMUs of this run that a failed step left behind: by their pid files, checked by command line
    for f in "$run"/vms/*/qemu.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f"); grep -qa "$run" "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

start_daemon() {
    : >"$work/jvirtd.log"
    "$root/bin/jvirtd" --state-dir "$state" --run-dir "$run" --accel tcg --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
    daemon_pid=$!
}

start_daemon
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
echo "restart benchmark $(date -u +%FT%TZ), jvirtd from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at start, guests of $mem MiB under TCG" | tee "$out"
printf '%-8s %-12s %-14s %-10s %-10s %-10s %s\n' "VMs" "answers(ms)" "reconciled(ms)" "budget" "main(ms)" "adopted" "first answer" | tee -a "$out"

started=0
for n in "${counts[@]}"; do
    while [ "$started" -lt "$n" ]; do
        started=$((started + 1))
        api -X POST http://j/v1/vms -d "{\"name\":\"vm$started\",\"memoryMiB\":$mem,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"}}" >/dev/null
        api -X POST "http://j/v1/vms/vm$started/start?wait=true" >/dev/null
    done
    for i in $(seq "$n"); do # booted: the guests' boot is not what is measured
        for _ in $(seq 600); do api "http://j/v1/vms/vm$i/console" | grep -q JVIRT-GUEST-READY && break; sleep 0.2; done
    done
    before=$(api http://j/v1/vms | python3 -c 'import json,sys; print(" ".join(v["name"] for v in json.load(sys.stdin) if v["state"] == "running"))')
    pids_before=$(for v in $before; do api "http://j/v1/vms/$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runtime"]["pid"])'; done | sort | tr '\n' ' ')

    kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
    t0=$(now_ms)
    start_daemon
    first=""
    while true; do
        if body=$(api http://j/v1/vms 2>/dev/null); then first=$body; break; fi
        [ $(( $(now_ms) - t0 )) -gt 120000 ] && die "no answer within 120 s"
        sleep 0.01
    done
    t_answer=$(( $(now_ms) - t0 ))
    busy_at_first=$(echo "$first" | python3 -c 'import json,sys; print(sum(1 for v in json.load(sys.stdin) if (v.get("job") or {}).get("name") == "recovery"))')
    while api http://j/v1/vms | grep -q '"recovery"'; do
        [ $(( $(now_ms) - t0 )) -gt 120000 ] && die "not reconciled within 120 s"
        sleep 0.01
    done
    t_done=$(( $(now_ms) - t0 ))
    pids_after=$(for v in $before; do api "http://j/v1/vms/$v" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["runtime"]["pid"] if d["state"] == "running" and d.get("runtime") else "lost")'; done | sort | tr '\n' ' ')
    adopted=$([ "$pids_before" = "$pids_after" ] && echo "all $n" || echo "NOT: $pids_after")
    budget=$(( 1000 + 20 * n ))
    main_ms=$(grep -o 'VM(s) in [0-9]* ms' "$work/jvirtd.log" | tail -1 | grep -o '[0-9][0-9]*' | tail -1)
    printf "%-8s %-12s %-14s %-10s %-10s %-10s %s\n" "$n" "$t_answer" "$t_done" "$budget" "$main_ms" "$adopted" "$busy_at_first still in recovery, load $(cut -d" " -f1 /proc/loadavg)" | tee -a "$out"
done
echo "saved $out" >&2
