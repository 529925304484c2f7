#!/usr/bin/env bash
# Live block copy benchmark (on demand, not a test). One run measures, on the same 1 GiB qcow2 image full of data:
#   - cp of the image file (+ sync): the disk's limit
#   - qemu-img convert -O qcow2 (+ sync)
#   - jvirt blockcopy --pivot of a running VM's disk (request -> pivoted), and the guest's pause during the pivot
#   - virsh blockcopy --wait --pivot of the same guest under libvirt, with --libvirt (libvirt-daemon-system)
# and prints throughputs and ratios. Usage: bench/blockcopy.sh [--libvirt] [--runs N] [--size-mib N]
# Everything it starts is ended by PID on exit; /etc/libvirt/qemu.conf is restored if it was changed.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/libvirt.sh"

runs=3
size_mib=1024
with_libvirt=0
while [ $# -gt 0 ]; do
    case "$1" in
        --libvirt) with_libvirt=1 ;;
        --runs) runs="$2"; shift ;;
        --size-mib) size_mib="$2"; shift ;;
        *) die "unknown argument $1 (usage: bench/blockcopy.sh [--libvirt] [--runs N] [--size-mib N])" ;;
    esac
    shift
done

install_deps
build_jar
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest" >/dev/null

# On the same filesystem as the state directory would be; /tmp may be tmpfs elsewhere, so say which.
work=$(mktemp -d "${JVIRT_BENCH_DIR:-/var/tmp}/jvirt-bench-copy.XXXXXX")
pids=()
cleanup() {
    set +e
    libvirt_stop
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    for f in $(find "$work" -name qemu.pid 2>/dev/null); do kill -9 "$(cat "$f")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

secs() { awk -v ns="$1" 'BEGIN {printf "%.3f", ns / 1e9}'; }
mibps() { awk -v ns="$1" -v mib="$size_mib" 'BEGIN {printf "%.0f", mib / (ns / 1e9)}'; }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir -p "$work/img" "$work/state" "$work/run"
src="$work/img/src.qcow2"
qemu-img create -q -f qcow2 "$src" "${size_mib}M"
log "filling ${size_mib} MiB of $src with data"
qemu-io -f qcow2 -c "write -P 0x5a 0 ${size_mib}M" "$src" >/dev/null
sync "$src"
log "work directory $work on $(df --output=fstype "$work" | tail -1)"

declare -a T_CP T_CONV T_JV T_JVW T_PAUSE T_VIRSH

# ---- jvirt daemon and guest -------------------------------------------------------------------------------
sock="$work/run/jvirtd.sock"
"$JVIRT_ROOT/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
cp "$src" "$work/img/jvsrc.qcow2"
api -X POST http://j/v1/vms -d "{\"name\":\"bcopy\",\"memoryMiB\":128,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"},\"disks\":[{\"name\":\"vda\",\"path\":\"$work/img/jvsrc.qcow2\",\"format\":\"qcow2\"}]}" >/dev/null
api -X POST 'http://j/v1/vms/bcopy/start?wait=true' >/dev/null
for _ in $(seq 600); do api http://j/v1/vms/bcopy/console | grep -q JVIRT-GUEST-READY && break; sleep 0.1; done
jv_cur="$work/img/jvsrc.qcow2"

# ---- libvirt (optional) -----------------------------------------------------------------------------------
virsh_note="not measured (run with --libvirt)"
if [ "$with_libvirt" = 1 ]; then
    libvirt_start "$work"
    LIBVIRT_DOMAINS+=(lvcopy)
    cp "$src" "$work/img/lvsrc.qcow2"
    {
        echo "<domain type='qemu'><name>lvcopy</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
        echo "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>"
        echo "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        echo "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/img/lvsrc.qcow2'/><target dev='vda' bus='virtio'/></disk>"
        echo "<serial type='file'><source path='$work/lvcopy.console'/><target port='0'/></serial>"
        echo "<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>"
    } >"$work/lvcopy.xml"
    $V create "$work/lvcopy.xml" >/dev/null
    for _ in $(seq 300); do grep -q JVIRT-GUEST-READY "$work/lvcopy.console" 2>/dev/null && break; sleep 0.1; done
    lv_cur="$work/img/lvsrc.qcow2"
    virsh_note=""
fi

# ---- the runs: the copies back to back in each run, so they share the machine's state ---------------------
for ((i = 0; i < runs; i++)); do
    log "run $((i + 1)) of $runs"
    sync; t0=$(date +%s%N); cp "$src" "$work/img/cp.qcow2"; sync "$work/img/cp.qcow2"; T_CP+=($(( $(date +%s%N) - t0 )))
    rm -f "$work/img/cp.qcow2"
    sync; t0=$(date +%s%N); qemu-img convert -f qcow2 -O qcow2 "$src" "$work/img/conv.qcow2"; sync "$work/img/conv.qcow2"
    T_CONV+=($(( $(date +%s%N) - t0 )))
    rm -f "$work/img/conv.qcow2"

    dst="$work/img/jv$i.qcow2"
    sync; t0=$(date +%s%N)
    "$JVIRT_ROOT/bin/jvirt" --socket "$sock" -o json blockcopy bcopy vda "$dst" --pivot >"$work/jv.json"
    t1=$(date +%s%N); sync "$dst"; t2=$(date +%s%N)
    T_JVW+=($(( t2 - t0 )))
    # the copy itself as the daemon recorded it (request accepted -> pivoted), plus the same sync as the others
    copy_ns=$(python3 -c 'import json,sys,datetime as d
r = json.load(open(sys.argv[1]))["result"]
p = lambda x: d.datetime.fromisoformat(x.replace("Z", "+00:00"))
print(int((p(r["updated"]) - p(r["since"])).total_seconds() * 1e9))' "$work/jv.json")
    T_JV+=($(( copy_ns + t2 - t1 )))
    T_PAUSE+=($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"].get("pivotPauseMillis"))' "$work/jv.json"))
    rm -f "$jv_cur"; jv_cur="$dst"   # the image the guest left: our copy, never the original $src

    if [ -z "$virsh_note" ]; then
        dst="$work/img/lv$i.qcow2"
        sync; t0=$(date +%s%N)
        $V blockcopy lvcopy vda "$dst" --format qcow2 --wait --pivot >/dev/null
        sync "$dst"
        T_VIRSH+=($(( $(date +%s%N) - t0 )))
        rm -f "$lv_cur"; lv_cur="$dst"
    fi
done
api -X POST http://j/v1/vms/bcopy/destroy >/dev/null
[ -z "$virsh_note" ] && $V destroy lvcopy >/dev/null

cp_ns=$(med "${T_CP[@]}"); conv_ns=$(med "${T_CONV[@]}"); jv_ns=$(med "${T_JV[@]}")
echo
echo "Block copy of a ${size_mib} MiB qcow2 image full of data, median of $runs runs ($(qemu-system-x86_64 --version | head -1))"
printf '  %-44s %8s s %7s MiB/s\n' "cp + sync (the disk's limit)" "$(secs "$cp_ns")" "$(mibps "$cp_ns")"
printf '  %-44s %8s s %7s MiB/s\n' "qemu-img convert -O qcow2 + sync" "$(secs "$conv_ns")" "$(mibps "$conv_ns")"
printf '  %-44s %8s s %7s MiB/s\n' "jvirt copy, accepted -> pivoted, + sync" "$(secs "$jv_ns")" "$(mibps "$jv_ns")"
jvw_ns=$(med "${T_JVW[@]}")
printf '  %-44s %8s s %7s MiB/s\n' "  wall time of jvirt blockcopy --pivot + sync" "$(secs "$jvw_ns")" "$(mibps "$jvw_ns")"
echo "  jvirt throughput / qemu-img convert: $(awk -v a="$conv_ns" -v b="$jv_ns" 'BEGIN {printf "%.0f %%", 100 * a / b}') (aim >= 95 %)"
echo "  jvirt throughput / cp:               $(awk -v a="$cp_ns" -v b="$jv_ns" 'BEGIN {printf "%.0f %%", 100 * a / b}')"
echo "  guest pause during pivot (STOP..RESUME, QEMU's timestamps): $(printf '%s ' "${T_PAUSE[@]}")ms; median $(med "${T_PAUSE[@]}") ms (aim <= 20 ms)"
if [ -z "$virsh_note" ]; then
    v_ns=$(med "${T_VIRSH[@]}")
    printf '  %-44s %8s s %7s MiB/s\n' "virsh blockcopy --wait --pivot + sync" "$(secs "$v_ns")" "$(mibps "$v_ns")"
    echo "  wall time jvirt blockcopy / virsh blockcopy: $(awk -v a="$jvw_ns" -v b="$v_ns" 'BEGIN {printf "%.2f", a / b}')"
else
    echo "  virsh blockcopy: $virsh_note"
fi
