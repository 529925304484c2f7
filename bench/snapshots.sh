#!/usr/bin/env bash
# Snapshot benchmark (on demand, not a test): create latency (internal, external, memory + guest pause) and
# revert latency, for a VM with a 1 GiB qcow2 disk holding data; with --libvirt, the same through
# virsh snapshot-create-as / snapshot-revert on a private libvirtd in the same run. Also: external memory snapshot (pause,
# memory file size) and its revert, and delete of a non-leaf external snapshot (block-commit with top/base).
# Usage: bench/snapshots.sh [--libvirt] [DATA_MiB (default 512)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
source "$root/bench/libvirt.sh"
with_libvirt=0
if [ "${1:-}" = --libvirt ]; then with_libvirt=1; shift; fi
data_mib="${1:-512}"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
work="$(mktemp -d /tmp/jvirt-bench-snap.XXXXXX)"
sock="$work/run/jvirtd.sock"
daemon_pid=""
cleanup() {
    set +e
    [ -n "$daemon_pid" ] && curl -s --unix-socket "$sock" -X POST http://j/v1/vms/bsnap/destroy >/dev/null 2>&1 || true
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    libvirt_stop
    rm -rf "$work"
}
trap cleanup EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }

[ -f "$root/target/jvirt.jar" ] || (cd "$root" && mvn -q -o -DskipTests package)
mkdir -p "$work/img" "$work/state" "$work/run"
qemu-img create -q -f qcow2 "$work/img/disk.qcow2" 1G
qemu-io -f qcow2 -c "write -P 0x5a 0 ${data_mib}M" "$work/img/disk.qcow2" >/dev/null
"$root/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
api -X POST http://j/v1/vms -d "{\"name\":\"bsnap\",\"memoryMiB\":128,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"},\"disks\":[{\"name\":\"vda\",\"path\":\"$work/img/disk.qcow2\",\"format\":\"qcow2\"}]}" >/dev/null
api -X POST 'http://j/v1/vms/bsnap/start?wait=true' >/dev/null
for _ in $(seq 600); do api http://j/v1/vms/bsnap/console | grep -q JVIRT-GUEST-READY && break; sleep 0.1; done

snap() { local t; t=$(date +%s%N); api -X POST 'http://j/v1/vms/bsnap/snapshots?wait=true' -d "$1" >"$work/last.json"; ms "$t"; }
revert() { local t; t=$(date +%s%N); api -X POST "http://j/v1/vms/bsnap/snapshots/$1/revert?wait=true" >/dev/null; ms "$t"; }

int_ms=$(snap '{"name":"i1"}')
mem_ms=$(snap '{"name":"m1","memory":true}')
pause_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"].get("pauseMillis"))' "$work/last.json")
rev_mem_ms=$(revert m1)
rev_int_ms=$(revert i1)
ext_ms=$(snap '{"name":"e1","external":true}')
rev_ext_ms=$(revert e1)
xmem_ms=$(snap '{"name":"x1","memory":true,"external":true}')
xpause_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"].get("pauseMillis"))' "$work/last.json")
xmem_bytes=$(stat -c %s "$work/img/bsnap-x1.mem")
snap '{"name":"e2","external":true}' >/dev/null
# chain now: disk.qcow2 <- revert top of e1 <- x1 overlay <- e2 overlay (active); e1 is not the leaf:
# its layer (the revert top) is committed into disk.qcow2 by a non-active block-commit
t=$(date +%s%N); api -X DELETE 'http://j/v1/vms/bsnap/snapshots/e1?wait=true' >/dev/null; del_mid_ms=$(ms "$t")
rev_xmem_ms=$(revert x1)
echo "jvirt (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), 1 GiB qcow2, ${data_mib} MiB data, 128 MiB guest)"
printf '  %-34s %6s ms\n' "create internal (disk only)" "$int_ms" "create external" "$ext_ms" \
    "create memory (internal)" "$mem_ms" "  guest pause (STOP..RESUME)" "$pause_ms" \
    "revert internal (restarts QEMU)" "$rev_int_ms" "revert memory (snapshot-load)" "$rev_mem_ms" \
    "revert external (restarts QEMU)" "$rev_ext_ms" \
    "create external memory" "$xmem_ms" "  guest pause (STOP..RESUME)" "$xpause_ms" \
    "revert external memory (new QEMU)" "$rev_xmem_ms" "delete non-leaf external" "$del_mid_ms"
echo "  external memory file: $((xmem_bytes / 1048576)) MiB"

if [ "$with_libvirt" = 1 ]; then
    libvirt_start "$work"
    dom="lvsnap"
    LIBVIRT_DOMAINS+=("$dom")
    qemu-img create -q -f qcow2 "$work/img/virsh.qcow2" 1G
    qemu-io -f qcow2 -c "write -P 0x5a 0 ${data_mib}M" "$work/img/virsh.qcow2" >/dev/null
    {
        echo "<domain type='qemu'><name>$dom</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
        echo "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>"
        echo "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        echo "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/img/virsh.qcow2'/><target dev='vda' bus='virtio'/></disk>"
        echo "<serial type='file'><source path='$work/lvsnap.console'/><target port='0'/></serial>"
        echo "<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>"
    } >"$work/dom.xml"
    $V define "$work/dom.xml" >/dev/null
    $V start "$dom" >/dev/null
    for _ in $(seq 300); do grep -q JVIRT-GUEST-READY "$work/lvsnap.console" 2>/dev/null && break; sleep 0.1; done
    vt() { local t; t=$(date +%s%N); if $V "$@" >/dev/null 2>"$work/virsh.err"; then ms "$t"; else echo "NA($(head -c 120 "$work/virsh.err" | tr '\n' ' '))"; fi; }
    # the same order as jvirt's: internal with memory (libvirt has no internal disk-only snapshot of a running
    # VM), its revert, then external disk-only, then external with memory
    v_mem=$(vt snapshot-create-as "$dom" vm1)
    v_rev_mem=$(vt snapshot-revert "$dom" vm1)
    v_ext=$(vt snapshot-create-as "$dom" ve1 --disk-only --atomic)
    v_xmem=$(vt snapshot-create-as "$dom" vx1 --memspec "file=$work/img/vx1.mem,snapshot=external" \
        --diskspec "vda,snapshot=external,file=$work/img/vx1.qcow2")
    ratio() { case "$2" in NA*) echo "-";; *) python3 -c "print(round($1/$2,2))";; esac; }
    echo "virsh (libvirt $($V version | awk '/libvirt/ {print $NF; exit}'), same guest and disk):"
    printf '  %-34s %8s ms   jvirt/virsh %s\n' "snapshot-create-as (memory)" "$v_mem" "$(ratio "$mem_ms" "$v_mem")" \
        "snapshot-revert (memory)" "$v_rev_mem" "$(ratio "$rev_mem_ms" "$v_rev_mem")" \
        "snapshot-create-as --disk-only" "$v_ext" "$(ratio "$ext_ms" "$v_ext")" \
        "snapshot-create-as --memspec ext." "$v_xmem" "$(ratio "$xmem_ms" "$v_xmem")"
    echo "  (libvirt 9.0 cannot revert external snapshots; internal disk-only snapshots of a running VM do not exist there)"
else
    echo "virsh: not measured (run with --libvirt)"
fi
