#!/usr/bin/env bash
# Stats, metrics and guest agent benchmark (on demand, not a test).
#
# For each VM count (default 1 10 50): that many tiny guests run under jvirtd (each with a 16 MiB qcow2 disk and a
# user NIC; booted in groups, RAM --mem MiB), then
#   - GET /v1/stats?maxAge=0 and GET /metrics?maxAge=0 (fresh samples, no cache): latency, and the daemon's CPU per
#     request and per VM (utime+stime of /proc/PID/stat before and after --reps requests);
#   - with --libvirt, the same count of the same guests under a private libvirtd (bench/libvirt.sh), after the
#     jvirt VMs are destroyed: `virsh domstats` latency and libvirtd's CPU per call.
# Then the agent round trip of one guest: POST /v1/vms/X/guest/ping (curl) vs
# `virsh qemu-agent-command X '{"execute":"guest-ping"}'` (--libvirt).
#
#   bench/observe.sh [--libvirt] [--mem MiB] [--reps N] [COUNT...]
#
# Everything it starts is ended by PID; results go to stdout and bench/results/observe-<date>.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
source "$root/bench/libvirt.sh"
with_libvirt=0
mem=128   # the tiny guest's kernel alone is 66 MB (uncompressed, loaded whole)
reps=10
counts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --libvirt) with_libvirt=1 ;;
        --mem) mem="$2"; shift ;;
        --reps) reps="$2"; shift ;;
        *) counts+=("$1") ;;
    esac
    shift
done
[ ${#counts[@]} -gt 0 ] || counts=(1 10 50)
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
work="$(mktemp -d /tmp/jvirt-bench-observe.XXXXXX)"
sock="$work/run/jvirtd.sock"
daemon_pid=""
mkdir -p "$root/bench/results"
out="$root/bench/results/observe-$(date +%Y%m%d-%H%M%S).txt"
cleanup() {
    set +e
    if [ -n "$daemon_pid" ]; then
        for vm in $(api http://j/v1/vms 2>/dev/null | python3 -c 'import json,sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))'); do
            api -X POST "http://j/v1/vms/$vm/destroy" >/dev/null 2>&1
        done
        kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    fi
    libvirt_stop
    rm -rf "$work"
}
trap cleanup EXIT
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
say() { echo "$*" | tee -a "$out"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in 1/100 s
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

[ -f "$root/target/jvirt.jar" ] || (cd "$root" && mvn -q -o -DskipTests package)
bash "$root/scripts/build-tiny-guest.sh" "$guest" >/dev/null
mkdir -p "$work/img" "$work/state" "$work/run"
"$root/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" --accel tcg --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
say "observe benchmark $(date -u +%FT%TZ), $(nproc) cores, guests of $mem MiB under TCG, $reps requests each"

# measure LABEL URL COUNT: median latency (ms) and daemon CPU (ms) per request and per VM
measure() {
    local label="$1" url="$2" n="$3" t0 t1 c0 c1 i lat=()
    api "$url" >/dev/null # warm: JIT, polling turned on
    c0=$(cpu_ticks "$daemon_pid")
    for i in $(seq "$reps"); do
        lat+=("$(curl -sf -o /dev/null -w '%{time_total}' --unix-socket "$sock" "$url")")
    done
    c1=$(cpu_ticks "$daemon_pid")
    local med cpu
    med=$(printf '%s\n' "${lat[@]}" | median)
    cpu=$(( (c1 - c0) * 10 / reps ))
    say "$(printf '  %-22s %4d VMs  latency p50 %7.1f ms   daemon CPU %5d ms/request  %5.2f ms/VM' "$label" "$n" \
        "$(python3 -c "print($med * 1000)")" "$cpu" "$(python3 -c "print($cpu / $n)")")"
}

started=0
start_vms() { # start_vms N: runs VMs vm1..vmN (those not yet running), 5 at a time
    local n="$1" i
    while [ "$started" -lt "$n" ]; do
        local batch=()
        for i in $(seq $((started + 1)) $((started + 5 > n ? n : started + 5))); do
            qemu-img create -q -f qcow2 "$work/img/vm$i.qcow2" 16M
            api -X POST http://j/v1/vms -d "{\"name\":\"vm$i\",\"memoryMiB\":$mem,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"},\"disks\":[{\"name\":\"vda\",\"path\":\"$work/img/vm$i.qcow2\",\"format\":\"qcow2\"}],\"nics\":[{\"name\":\"net0\"}]}" >/dev/null
            api -X POST "http://j/v1/vms/vm$i/start?wait=true" >/dev/null
            batch+=("vm$i")
            started=$i
        done
        for v in "${batch[@]}"; do
            for _ in $(seq 600); do api "http://j/v1/vms/$v/console" | grep -q JVIRT-GUEST-READY && break; sleep 0.2; done
        done
    done
}

for n in "${counts[@]}"; do
    start_vms "$n"
    sleep 3
    measure "GET /v1/stats" "http://j/v1/stats?maxAge=0" "$n"
    measure "GET /metrics" "http://j/metrics?maxAge=0" "$n"
    measure "GET /metrics (cached)" "http://j/metrics" "$n"
    say "    /metrics size: $(api 'http://j/metrics' | wc -c) bytes, $(api 'http://j/metrics' | grep -vc '^#') series"
done

# the agent round trip of vm1: client-observed wall time (curl) and the daemon's own measure
for _ in $(seq 300); do api -X POST "http://j/v1/vms/vm1/guest/ping?agentTimeout=2" >/dev/null 2>&1 && break; sleep 0.2; done
lat=(); srv=()
for i in $(seq 50); do
    lat+=("$(curl -sf -o "$work/ping.json" -w '%{time_total}' --unix-socket "$sock" -X POST http://j/v1/vms/vm1/guest/ping)")
    srv+=("$(python3 -c "import json; print(json.load(open('$work/ping.json'))['millis'])")")
done
jping=$(python3 -c "print($(printf '%s\n' "${lat[@]}" | median) * 1000)")
say "$(printf '  %-22s latency p50 %7.1f ms (curl, wall)  in the daemon p50 %s ms' "agent ping (jvirt)" "$jping" \
    "$(printf '%s\n' "${srv[@]}" | median)")"

if [ "$with_libvirt" = 1 ]; then
    total=$started
    for i in $(seq "$total"); do api -X POST "http://j/v1/vms/vm$i/destroy" >/dev/null; done
    kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
    libvirt_start "$work"
    say "libvirt $($V version | awk '/libvirt/ {print $NF; exit}') (private libvirtd, same guests and disks):"
    lstarted=0
    for n in "${counts[@]}"; do
        while [ "$lstarted" -lt "$n" ]; do
            lstarted=$((lstarted + 1))
            dom="lv$lstarted"
            LIBVIRT_DOMAINS+=("$dom")
            {
                echo "<domain type='qemu'><name>$dom</name><memory unit='MiB'>$mem</memory><vcpu>1</vcpu>"
                echo "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>"
                echo "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
                echo "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/img/vm$lstarted.qcow2'/><target dev='vda' bus='virtio'/></disk>"
                echo "<interface type='user'><model type='virtio'/></interface>"
                echo "<serial type='file'><source path='$work/$dom.console'/><target port='0'/></serial>"
                echo "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
                echo "<controller type='usb' model='none'/><memballoon model='virtio'/></devices></domain>"
            } >"$work/dom.xml"
            $V define "$work/dom.xml" >/dev/null
            $V start "$dom" >/dev/null
            if [ $((lstarted % 5)) = 0 ] || [ "$lstarted" = "$n" ]; then
                for _ in $(seq 600); do grep -q JVIRT-GUEST-READY "$work/$dom.console" 2>/dev/null && break; sleep 0.2; done
            fi
        done
        sleep 3
        $V domstats >/dev/null
        c0=$(cpu_ticks "$LIBVIRTD_PID"); lat=()
        for i in $(seq "$reps"); do
            t=$(date +%s%N); $V domstats >/dev/null; lat+=("$(( ($(date +%s%N) - t) / 1000 ))")
        done
        c1=$(cpu_ticks "$LIBVIRTD_PID")
        cpu=$(( (c1 - c0) * 10 / reps ))
        say "$(printf '  %-22s %4d VMs  latency p50 %7.1f ms   libvirtd CPU %4d ms/request  %5.2f ms/VM' "virsh domstats" "$n" \
            "$(python3 -c "print($(printf '%s\n' "${lat[@]}" | median) / 1000)")" "$cpu" "$(python3 -c "print($cpu / $n)")")"
    done
    for _ in $(seq 300); do $V qemu-agent-command lv1 '{"execute":"guest-ping"}' >/dev/null 2>&1 && break; sleep 0.2; done
    lat=()
    for i in $(seq 50); do
        t=$(date +%s%N); $V qemu-agent-command lv1 '{"execute":"guest-ping"}' >/dev/null; lat+=("$(( ($(date +%s%N) - t) / 1000 ))")
    done
    vping=$(python3 -c "print($(printf '%s\n' "${lat[@]}" | median) / 1000)")
    say "$(printf '  %-22s latency p50 %7.1f ms (virsh, wall)   jvirt/virsh %.2f' "agent ping (libvirt)" "$vping" \
        "$(python3 -c "print($jping / $vping)")")"
fi
say "results: $out"
