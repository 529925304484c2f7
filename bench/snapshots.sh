#!/usr/bin/env bash
# Snapshot benchmark (on demand, not a test): create latency (internal, external, memory + guest pause) and
# revert latency, for a VM with a 1 GiB qcow2 disk holding data; compared with virsh snapshot-create-as when
# libvirt is installed and answers (JVIRT_BENCH_NO_VIRSH=1 skips that). Also: external memory snapshot (pause,
# memory file size) and its revert, and delete of a non-leaf external snapshot (block-commit with top/base).
# Usage: bench/snapshots.sh [DATA_MiB (default 512)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data_mib="${1:-512}"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
work="$(mktemp -d /tmp/jvirt-bench-snap.XXXXXX)"
sock="$work/run/jvirtd.sock"
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && curl -s --unix-socket "$sock" -X POST http://j/v1/vms/bsnap/destroy >/dev/null 2>&1 || true
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    if [ -n "${virsh_dom:-}" ]; then virsh -q destroy "$virsh_dom" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }

[ -f "$root/target/jvirt.jar" ] || (cd "$root" && mvn -q -o -DskipTests package)
mkdir -p "$work/img" "$work/state" "$work/run"
qemu-img create -q -f qcow2 "$work/img/disk.qcow2" 1G
qemu-io -f qcow2 -c "write -P 0x5a 0 ${data_mib}M" "$work/img/disk.qcow2" >/dev/null
"$root/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" >"$work/jvirtd.log" 2>&1 &
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

if [ -z "${JVIRT_BENCH_NO_VIRSH:-}" ] && command -v virsh >/dev/null && virsh -q -c qemu:///system version >/dev/null 2>&1; then
    virsh_dom="jvirt-bench-snap-$$"
    cp "$work/img/disk.qcow2" "$work/img/virsh.qcow2" 2>/dev/null || qemu-img create -q -f qcow2 "$work/img/virsh.qcow2" 1G
    qemu-io -f qcow2 -c "write -P 0x5a 0 ${data_mib}M" "$work/img/virsh.qcow2" >/dev/null
    cat >"$work/dom.xml" <<XML
<domain type='qemu'><name>$virsh_dom</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/img/virsh.qcow2'/><target dev='vda' bus='virtio'/></disk>
<serial type='pty'/></devices></domain>
XML
    if virsh -q create "$work/dom.xml" >/dev/null 2>&1; then
        sleep 5
        t=$(date +%s%N); virsh -q snapshot-create-as "$virsh_dom" vi1 --disk-only --atomic >/dev/null 2>&1 && v_ext=$(ms "$t") || v_ext=NA
        t=$(date +%s%N); virsh -q snapshot-create-as "$virsh_dom" vm1 >/dev/null 2>&1 && v_mem=$(ms "$t") || v_mem=NA
        echo "virsh snapshot-create-as (same guest): external disk-only ${v_ext} ms, memory ${v_mem} ms"
        [ "$v_ext" != NA ] && echo "  ratio external jvirt/virsh: $(python3 -c "print(round($ext_ms/$v_ext,2))")"
        [ "$v_mem" != NA ] && echo "  ratio memory   jvirt/virsh: $(python3 -c "print(round($mem_ms/$v_mem,2))")"
    else
        echo "virsh: cannot create a transient domain here; no comparison"
    fi
elif [ -n "${JVIRT_BENCH_NO_VIRSH:-}" ]; then
    echo "libvirt comparison skipped (JVIRT_BENCH_NO_VIRSH)"
else
    echo "virsh not installed or libvirtd not answering: no libvirt comparison"
fi
