#!/usr/bin/env bash
# Hotplug latency: from the API call (POST ...?wait=true) to the change visible in the guest (its agent runs
# /bin/guestinfo, polled every 20 ms) for a DIMM plug, a virtio-mem resize, a vCPU plug and a disk attach; and how
# long a detach waits for the guest (DIMM, vCPU, disk). Side by side in the same run: the same QMP commands sent by
# hand (bench/hotplug.py) to a QEMU started with jvirt's very command line, and with --libvirt virsh attach-device /
# setvcpus --live / attach-disk on the same guest under a private libvirtd (bench/libvirt.sh).
#   bench/hotplug.sh [--libvirt] [--runs N]
# Everything it starts is ended by PID; results go to stdout and bench/results/hotplug-<date>.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
source "$root/bench/libvirt.sh"
with_libvirt=0
export RUNS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --libvirt) with_libvirt=1 ;;
        --runs) RUNS="$2"; shift ;;
        *) die "unknown argument $1" ;;
    esac
    shift
done
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
work="$(mktemp -d /tmp/jvirt-bench-hotplug.XXXXXX)"
sock="$work/run/jvirtd.sock"
daemon_pid=""
mkdir -p "$root/bench/results"
out="$root/bench/results/hotplug-$(date +%Y%m%d-%H%M%S).txt"
cleanup() {
    set +e
    if [ -n "$daemon_pid" ]; then
        api -X POST "http://j/v1/vms/hb1/destroy" >/dev/null 2>&1
        kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    fi
    libvirt_stop
    rm -rf "$work"
}
trap cleanup EXIT
api() { curl -sf --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
say() { echo "$*" | tee -a "$out"; }

[ -f "$root/target/jvirt.jar" ] || (cd "$root" && mvn -q -o -DskipTests package)
bash "$root/scripts/build-tiny-guest.sh" "$guest" >/dev/null
mkdir -p "$work/state" "$work/run" "$work/byhand" "$work/virsh"
qemu-img create -q -f raw "$work/vda.raw" 16M
qemu-img create -q -f raw "$work/vdb.raw" 8M
"$root/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" --accel tcg --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 600); do grep -q "jvirtd ready" "$work/jvirtd.log" && break; sleep 0.1; done
say "hotplug benchmark $(date -u +%FT%TZ), $(nproc) cores, TCG, tiny guest 192 MiB on 2 NUMA nodes, $RUNS runs each"
api -X POST http://j/v1/vms -d "{\"name\":\"hb1\",\"memoryMiB\":192,\"vcpus\":1,
  \"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"},
  \"disks\":[{\"name\":\"vda\",\"path\":\"$work/vda.raw\",\"format\":\"raw\"}],
  \"hotplug\":{\"maxMemoryMiB\":1024,\"memorySlots\":4,\"maxVcpus\":4,
    \"numa\":[{\"id\":0,\"cpus\":\"0-1\",\"memoryMiB\":128},{\"id\":1,\"cpus\":\"2-3\",\"memoryMiB\":64}]}}" >/dev/null
api -X POST "http://j/v1/vms/hb1/start?wait=true" >/dev/null
for _ in $(seq 600); do api "http://j/v1/vms/hb1/console" | grep -q JVIRT-GUEST-READY && break; sleep 0.2; done
sleep 2
python3 "$root/bench/hotplug.py" jvirt "$sock" hb1 "$work/run/vms/hb1/qga.sock" "$work/vdb.raw" >"$work/jvirt.json"
echo "  jvirt: $(cat "$work/jvirt.json")" >>"$out"
grep -m1 -a 'qemu-system' "$work/state/owners/hb1/qemu.log" | sed 's/^.*LC_ALL/LC_ALL/' >"$work/cmdline"
api -X POST "http://j/v1/vms/hb1/destroy" >/dev/null
python3 "$root/bench/hotplug.py" qmp "$work/cmdline" "$work/byhand" "$work/vdb.raw" >"$work/qmp.json"
echo "  qmp: $(cat "$work/qmp.json")" >>"$out"

if [ "$with_libvirt" = 1 ]; then
    libvirt_start "$work"
    LIBVIRT_DOMAINS=(hb1)
    cat >"$work/virsh/hb1.xml" <<XML
<domain type='qemu'><name>hb1</name><memory unit='MiB'>192</memory><maxMemory slots='4' unit='MiB'>1024</maxMemory>
<vcpu placement='static' current='1'>4</vcpu>
<cpu><topology sockets='4' cores='1' threads='1'/><numa><cell id='0' cpus='0-1' memory='128' unit='MiB'/><cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>
<features><acpi/><apic/></features>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$work/vda.raw'/><target dev='vda' bus='virtio'/></disk>
<controller type='pci' index='0' model='pcie-root'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel><serial type='pty'/><memballoon model='virtio'/></devices></domain>
XML
    $V define "$work/virsh/hb1.xml" >/dev/null
    $V start hb1 >/dev/null
    for _ in $(seq 300); do $V qemu-agent-command hb1 '{"execute":"guest-ping"}' >/dev/null 2>&1 && break; sleep 0.3; done
    python3 "$root/bench/hotplug.py" virsh "$V" hb1 "$work/vdb.raw" "$work/virsh" >"$work/virsh.json" || echo '{}' >"$work/virsh.json"
else
    echo '{}' >"$work/virsh.json"
fi

python3 - "$work/jvirt.json" "$work/qmp.json" "$work/virsh.json" <<'PY' | tee -a "$out"
import json, sys
j, q, v = (json.load(open(f)) for f in sys.argv[1:4])
print(f"  {'change (API call -> guest sees it)':<36} {'jvirt ms':>9} {'QMP by hand':>12} {'ratio':>6} {'virsh ms':>9} {'ratio':>6}")
for k in ["dimm", "virtio-mem", "vcpu", "disk", "dimm-detach-wait", "vcpu-unplug-wait", "disk-detach-wait"]:
    jm = j.get(k, {}).get("median_ms"); qm = q.get(k, {}).get("median_ms"); vm = v.get(k, {}).get("median_ms")
    r1 = f"{jm / qm:.2f}" if jm and qm else "-"; r2 = f"{jm / vm:.2f}" if jm and vm else "-"
    print(f"  {k:<36} {jm if jm else '-':>9} {qm if qm else '-':>12} {r1:>6} {vm if vm else '-':>9} {r2:>6}")
print("  runs: jvirt " + json.dumps({k: x["runs"] for k, x in j.items()}))
print("  runs: qmp   " + json.dumps({k: x["runs"] for k, x in q.items()}))
if v:
    print("  runs: virsh " + json.dumps({k: x["runs"] for k, x in v.items()}))
PY
