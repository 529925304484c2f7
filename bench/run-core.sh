#!/usr/bin/env bash
# The core issue's benchmarks, on demand (not a test): start latency vs QEMU by hand, API latency with 1 and 100
# VMs, daemon RSS idle and with 10 VMs, one-shot `jvirt list`, 10 parallel starts; with --libvirt, the same
# through libvirt 9.0 / virsh in the same run, and the ratios.
#
#   bench/run-core.sh [--libvirt] [--runs N]
#
# Everything it starts (jvirtd, QEMUs, libvirtd, virtlogd) is ended by PID on exit; results go to stdout and to
# bench/results/core-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/libvirt.sh"

with_libvirt=0
runs=10
while [ $# -gt 0 ]; do
    case "$1" in
        --libvirt) with_libvirt=1 ;;
        --runs) runs="$2"; shift ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

install_deps
build_jar
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest" >/dev/null

work=$(mktemp -d /tmp/jvirt-bench.XXXXXX)
pids=()
cleanup() {
    set +e
    libvirt_stop   # our libvirtd: its guests first (they would outlive it), then the daemons, then qemu.conf
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    # QEMUs left by an interrupted run: ours are recorded in pid files under $work.
    for f in $(find "$work" -name qemu.pid 2>/dev/null); do kill -9 "$(cat "$f")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

declare -A R   # results: key -> value
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# median_ms CMD...: runs CMD $runs times (output discarded), prints the median wall time in ms.
median_ms() {
    local t=() i t0
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s%N); "$@" >/dev/null 2>&1; t+=($(( ($(date +%s%N) - t0) / 100000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/10}'
}

# ---- jvirt ------------------------------------------------------------------------------------------------
state="$work/jvirt-state"; run="$work/jvirt-run"; sock="$run/jvirtd.sock"
mkdir -p "$state"
[ -f "$guest/accel-probe.json" ] && cp "$guest/accel-probe.json" "$state/accel-probe.json"
"$JVIRT_ROOT/bin/jvirtd" --state-dir "$state" --run-dir "$run" --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
jpid=$!; pids+=("$jpid")
for _ in $(seq 1 300); do grep -q "jvirtd ready" "$work/jvirtd.log" 2>/dev/null && break; sleep 0.1; done
grep -q "jvirtd ready" "$work/jvirtd.log" || { cat "$work/jvirtd.log"; die "jvirtd did not start"; }
# idle = settled: bin/jvirtd trims the native heap every 5 s (-XX:TrimNativeHeapInterval), which hands start-up
# garbage (class loading, JIT) back to the kernel; 2 s after "ready" that has not happened yet (about 6 MB more)
sleep 2
R[daemon_rss_startup_kb]=$(rss_kb "$jpid")
sleep 8
R[daemon_rss_idle_kb]=$(rss_kb "$jpid")
log "jvirtd up (pid $jpid, accel $(curl -s --unix-socket "$sock" http://jvirtd/v1/host | sed -n 's/.*"accel" *: *"\([a-z]*\)".*/\1/p'))"

log "start latency, API latency, parallel starts (CoreBench, $runs runs)"
"$JAVA_HOME/bin/java" -cp "$JVIRT_ROOT/target/jvirt.jar" "$JVIRT_ROOT/bench/CoreBench.java" \
    "$sock" "$jpid" "$state" "$guest" "$runs" | tee "$work/core.txt"
while read -r k v _; do R[$k]=$v; done <"$work/core.txt"

log "one-shot jvirt list"
"$JVIRT_ROOT/bin/jvirt" --socket "$sock" define - >/dev/null <<EOF
{"name":"cli","memoryMiB":128,"vcpus":1,"boot":{"kernel":"$guest/vmlinux","initrd":"$guest/initrd.img"}}
EOF
rm -f "$JVIRT_ROOT/target/jvirt-cli.aot"
R[cli_list_noaot_ms]=$(median_ms "$JVIRT_ROOT/bin/jvirt" --socket "$sock" list)
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 25 ]; then
    "$JVIRT_ROOT/scripts/train-cli-aot.sh" "$sock" >/dev/null 2>&1
    R[cli_list_ms]=$(median_ms "$JVIRT_ROOT/bin/jvirt" --socket "$sock" list)
else
    R[cli_list_ms]=${R[cli_list_noaot_ms]}
fi
R[cli_list_picocli_ms]=$(median_ms "$JVIRT_ROOT/bin/jvirt" --socket "$sock" list --all)

# ---- libvirt ----------------------------------------------------------------------------------------------
if [ "$with_libvirt" = 1 ]; then
    libvirt_start "$work"
    lpid=$LIBVIRTD_PID
    LIBVIRT_DOMAINS+=(lv0 lv1 lv2 lv3 lv4 lv5 lv6 lv7 lv8 lv9 lv10)
    domxml() {
        cat <<EOF
<domain type='qemu'>
  <name>$1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>
  <on_poweroff>destroy</on_poweroff>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$work/$1.console'/><target port='0'/></serial>
    <controller type='usb' model='none'/><memballoon model='none'/></devices>
</domain>
EOF
    }
    for d in lv0 lv1 lv2 lv3 lv4 lv5 lv6 lv7 lv8 lv9 lv10; do domxml "$d" >"$work/$d.xml"; $V define "$work/$d.xml" >/dev/null; done
    sleep 2
    R[libvirtd_rss_idle_kb]=$(rss_kb "$lpid")

    log "virsh start latency ($runs runs)"
    ts=(); tm=()
    for ((i = 0; i < runs; i++)); do
        rm -f "$work/lv0.console"
        t0=$(date +%s%N); $V start lv0 >/dev/null; t1=$(date +%s%N)
        for _ in $(seq 1 12000); do grep -q JVIRT-GUEST-READY "$work/lv0.console" 2>/dev/null && break; sleep 0.005; done
        t2=$(date +%s%N)
        ts+=($(( (t1 - t0) / 100000 ))); tm+=($(( (t2 - t0) / 100000 )))
        $V destroy lv0 >/dev/null
    done
    med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/10}'; }
    R[virsh_start_ms]=$(med "${ts[@]}"); R[virsh_start_marker_ms]=$(med "${tm[@]}")
    R[virsh_list_ms]=$(median_ms $V list --all)
    n=2000
    for ((i = 0; i < n; i++)); do echo "dominfo lv0"; done >"$work/dominfo.cmds"
    t0=$(date +%s%N); $V <"$work/dominfo.cmds" >/dev/null; t1=$(date +%s%N)
    R[virsh_dominfo_insession_mean_ms]=$(awk -v t=$(( t1 - t0 )) -v n=$n 'BEGIN {printf "%.3f", t / n / 1e6}')

    log "10 parallel virsh start"
    t0=$(date +%s%N)
    starts=()
    for i in 1 2 3 4 5 6 7 8 9 10; do $V start "lv$i" >/dev/null & starts+=($!); done
    wait "${starts[@]}"   # only these: jvirtd is a child of this script too
    R[virsh_parallel10_start_wall_ms]=$(( ($(date +%s%N) - t0) / 1000000 ))
    sleep 5
    R[libvirtd_rss_10vms_kb]=$(rss_kb "$lpid")
    for i in 1 2 3 4 5 6 7 8 9 10; do $V destroy "lv$i" >/dev/null; done
    for d in lv0 lv1 lv2 lv3 lv4 lv5 lv6 lv7 lv8 lv9 lv10; do $V undefine "$d" >/dev/null; done
fi

# ---- summary ----------------------------------------------------------------------------------------------
v() { echo "${R[$1]:--}"; }
ratio() { awk -v a="${R[$1]:-}" -v b="${R[$2]:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
mkdir -p "$JVIRT_ROOT/bench/results"
out="$JVIRT_ROOT/bench/results/core-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "jvirt core benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), java $(java_major "$JAVA_HOME/bin/java"), runs=$runs"
    printf '%-34s %12s %14s %8s   %s\n' metric jvirt reference ratio target
    printf '%-34s %12s %14s %8s   %s\n' "start API->running (ms)" "$(v start_api_running_ms)" "$(v start_hand_running_ms)" "$(ratio start_api_running_ms start_hand_running_ms)" "<= by-hand + 30 ms; < virsh start"
    printf '%-34s %12s %14s %8s   %s\n' "start API->marker (ms)" "$(v start_api_marker_ms)" "$(v start_hand_marker_ms)" "$(ratio start_api_marker_ms start_hand_marker_ms)" "(reference: QEMU by hand)"
    printf '%-34s %12s %14s %8s   %s\n' "start vs virsh start (ms)" "$(v start_api_running_ms)" "$(v virsh_start_ms)" "$(ratio start_api_running_ms virsh_start_ms)" "< 1"
    printf '%-34s %12s %14s %8s   %s\n' "marker vs virsh (ms)" "$(v start_api_marker_ms)" "$(v virsh_start_marker_ms)" "$(ratio start_api_marker_ms virsh_start_marker_ms)" ""
    printf '%-34s %12s %14s %8s   %s\n' "info p50 1 VM (ms)" "$(v info_1vm_p50_ms)" "" "" ""
    printf '%-34s %12s %14s %8s   %s\n' "info p99 1 VM (ms)" "$(v info_1vm_p99_ms)" "" "" ""
    printf '%-34s %12s %14s %8s   %s\n' "info p50 100 VMs (ms)" "$(v info_100vm_p50_ms)" "$(v virsh_dominfo_insession_mean_ms)" "$(ratio info_100vm_p50_ms virsh_dominfo_insession_mean_ms)" "<= 0.3 (virsh: in-session dominfo mean)"
    printf '%-34s %12s %14s %8s   %s\n' "info p99 100 VMs (ms)" "$(v info_100vm_p99_ms)" "" "" "<= 2"
    printf '%-34s %12s %14s %8s   %s\n' "list p50 / p99 1 VM (ms)" "$(v list_1vm_p50_ms)/$(v list_1vm_p99_ms)" "" "" ""
    printf '%-34s %12s %14s %8s   %s\n' "list p50 / p99 100 VMs (ms)" "$(v list_100vm_p50_ms)/$(v list_100vm_p99_ms)" "" "" ""
    printf '%-34s %12s %14s %8s   %s\n' "one-shot list (ms)" "$(v cli_list_ms)" "$(v virsh_list_ms)" "$(ratio cli_list_ms virsh_list_ms)" "<= 100 (no AOT: $(v cli_list_noaot_ms); via picocli: $(v cli_list_picocli_ms))"
    printf '%-34s %12s %14s %8s   %s\n' "daemon RSS idle (kB)" "$(v daemon_rss_idle_kb)" "$(v libvirtd_rss_idle_kb)" "$(ratio daemon_rss_idle_kb libvirtd_rss_idle_kb)" "<= 65536 (10 s after ready; at 2 s: $(v daemon_rss_startup_kb))"
    printf '%-34s %12s %14s %8s   %s\n' "daemon RSS 10 VMs (kB)" "$(v daemon_rss_10vms_kb)" "$(v libvirtd_rss_10vms_kb)" "$(ratio daemon_rss_10vms_kb libvirtd_rss_10vms_kb)" "<= 98304"
    printf '%-34s %12s %14s %8s   %s\n' "10 parallel starts (ms)" "$(v parallel10_start_wall_ms)" "$(v virsh_parallel10_start_wall_ms)" "$(ratio parallel10_start_wall_ms virsh_parallel10_start_wall_ms)" "<= 1"
} | tee "$out"
log "saved to $out"
