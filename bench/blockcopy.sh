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
libvirt_conf_backup=""
cleanup() {
    set +e
    if [ -n "${lpid:-}" ]; then
        virsh -q -c qemu:///system destroy lvcopy >/dev/null 2>&1
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    for f in $(find "$work" -name qemu.pid 2>/dev/null); do kill -9 "$(cat "$f")" 2>/dev/null; done
    [ -n "$libvirt_conf_backup" ] && cp "$libvirt_conf_backup" /etc/libvirt/qemu.conf
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

declare -a T_CP T_CONV T_JV T_PAUSE T_VIRSH
for ((i = 0; i < runs; i++)); do
    rm -f "$work/img/cp.qcow2" "$work/img/conv.qcow2"
    t0=$(date +%s%N); cp "$src" "$work/img/cp.qcow2"; sync "$work/img/cp.qcow2"; T_CP+=($(( $(date +%s%N) - t0 )))
    t0=$(date +%s%N); qemu-img convert -f qcow2 -O qcow2 "$src" "$work/img/conv.qcow2"; sync "$work/img/conv.qcow2"
    T_CONV+=($(( $(date +%s%N) - t0 )))
done
rm -f "$work/img/cp.qcow2" "$work/img/conv.qcow2"

# ---- jvirt ------------------------------------------------------------------------------------------------
sock="$work/run/jvirtd.sock"
"$JVIRT_ROOT/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" >"$work/jvirtd.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
api -X POST http://j/v1/vms -d "{\"name\":\"bcopy\",\"memoryMiB\":128,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"},\"disks\":[{\"name\":\"vda\",\"path\":\"$src\",\"format\":\"qcow2\"}]}" >/dev/null
api -X POST 'http://j/v1/vms/bcopy/start?wait=true' >/dev/null
for _ in $(seq 600); do api http://j/v1/vms/bcopy/console | grep -q JVIRT-GUEST-READY && break; sleep 0.1; done
cur="$src"
for ((i = 0; i < runs; i++)); do
    dst="$work/img/jv$i.qcow2"
    t0=$(date +%s%N)
    "$JVIRT_ROOT/bin/jvirt" --socket "$sock" -o json blockcopy bcopy vda "$dst" --pivot >"$work/jv.json"
    sync "$dst"
    T_JV+=($(( $(date +%s%N) - t0 )))
    T_PAUSE+=($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"].get("pivotPauseMillis"))' "$work/jv.json"))
    [ "$cur" != "$src" ] && rm -f "$cur"   # the previous copy (no longer used); never the original source
    cur="$dst"
done
api -X POST http://j/v1/vms/bcopy/destroy >/dev/null

# ---- libvirt ----------------------------------------------------------------------------------------------
virsh_note="not measured (run with --libvirt)"
if [ "$with_libvirt" = 1 ]; then
    apt_install libvirt-daemon-system libvirt-clients
    if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
        die "a libvirt daemon is already running (not ours); stop it first so both are measured alike"
    fi
    libvirt_conf_backup="$work/qemu.conf.orig"
    cp /etc/libvirt/qemu.conf "$libvirt_conf_backup"
    cat >>/etc/libvirt/qemu.conf <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
stdio_handler = "file"
EOF
    virtlogd -d; pids+=("$(pgrep -n -x virtlogd)")
    libvirtd -d; for _ in $(seq 1 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
    lpid=$(pgrep -n -x libvirtd); pids=("$lpid" "${pids[@]}")
    V="virsh -q -c qemu:///system"
    cat >"$work/lvcopy.xml" <<EOF
<domain type='qemu'>
  <name>lvcopy</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$src'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='$work/lvcopy.console'/><target port='0'/></serial>
    <controller type='usb' model='none'/><memballoon model='none'/></devices>
</domain>
EOF
    $V create "$work/lvcopy.xml" >/dev/null
    for _ in $(seq 300); do grep -q JVIRT-GUEST-READY "$work/lvcopy.console" 2>/dev/null && break; sleep 0.1; done
    for ((i = 0; i < runs; i++)); do
        dst="$work/img/lv$i.qcow2"
        t0=$(date +%s%N)
        $V blockcopy lvcopy vda "$dst" --format qcow2 --wait --pivot >/dev/null
        sync "$dst"
        T_VIRSH+=($(( $(date +%s%N) - t0 )))
    done
    $V destroy lvcopy >/dev/null
    virsh_note=""
fi

cp_ns=$(med "${T_CP[@]}"); conv_ns=$(med "${T_CONV[@]}"); jv_ns=$(med "${T_JV[@]}")
echo
echo "Block copy of a ${size_mib} MiB qcow2 image full of data, median of $runs runs ($(qemu-system-x86_64 --version | head -1))"
printf '  %-44s %8s s %7s MiB/s\n' "cp + sync (the disk's limit)" "$(secs "$cp_ns")" "$(mibps "$cp_ns")"
printf '  %-44s %8s s %7s MiB/s\n' "qemu-img convert -O qcow2 + sync" "$(secs "$conv_ns")" "$(mibps "$conv_ns")"
printf '  %-44s %8s s %7s MiB/s\n' "jvirt blockcopy --pivot (running guest) + sync" "$(secs "$jv_ns")" "$(mibps "$jv_ns")"
echo "  jvirt throughput / qemu-img convert: $(awk -v a="$conv_ns" -v b="$jv_ns" 'BEGIN {printf "%.0f %%", 100 * a / b}') (aim >= 95 %)"
echo "  jvirt throughput / cp:               $(awk -v a="$cp_ns" -v b="$jv_ns" 'BEGIN {printf "%.0f %%", 100 * a / b}')"
echo "  guest pause during pivot (STOP..RESUME, QEMU's timestamps): $(printf '%s ' "${T_PAUSE[@]}")ms; median $(med "${T_PAUSE[@]}") ms (aim <= 20 ms)"
if [ -z "$virsh_note" ]; then
    v_ns=$(med "${T_VIRSH[@]}")
    printf '  %-44s %8s s %7s MiB/s\n' "virsh blockcopy --wait --pivot + sync" "$(secs "$v_ns")" "$(mibps "$v_ns")"
    echo "  jvirt time / virsh time: $(awk -v a="$jv_ns" -v b="$v_ns" 'BEGIN {printf "%.2f", a / b}')"
else
    echo "  virsh blockcopy: $virsh_note"
fi
