#!/usr/bin/env bash
# virsh migrate --live --p2p side by side with jvirt migrate, in one run (issue 14, "Benchmarks"):
# two private libvirtds, one per network namespace (a veth pair between them, addresses only inside), each in a
# mount namespace of its own where /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt are bind mounts of this run's directories (the machine's own libvirt config is never touched),
# certificates from a test CA in libvirt's layout, qemu+tls between the daemons (auth none: the certificate is the
# credential, as jvirt's peer channel) and QEMU's TLS on the migration stream (--tls), the same idle 256 MiB tiny
# guest under TCG. Then MigrationBenchmark#measure (jvirt and the raw-QMP floor) in the same run.
# Usage: bench/migration-libvirt.sh [--runs N] [--no-jvirt] [--storage]
#   --storage: also --copy-storage-all of a 1 GiB qcow2 full of data (one run, A->B)
# Saves bench/results/migration-libvirt-<UTC>.txt (and MigrationBenchmark's own file).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
runs=3
jvirt=1
storage=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift ;;
        --no-jvirt) jvirt=0 ;;
        --storage) storage=1 ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
[ "$(id -u)" -eq 0 ] || die "needs root (network and mount namespaces)"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
apt_install libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu openssl

W=$(mktemp -d /tmp/jvirt-lvmig-XXXXXX)
NSA="jvlv-a-$$"
NSB="jvlv-b-$$"
VETH="jvlv$$"
ADDR_A=10.79.0.1
ADDR_B=10.79.0.2
made_run_libvirt=0
declare -A LVPID=()

cleanup() {
    set +e
    local h p
    for h in a b; do
        [ -n "${LVPID[$h]:-}" ] || continue
        ns=$([ $h = a ] && echo "$NSA" || echo "$NSB")
        # every domain this run's daemon has: destroyed, undefined (their QEMUs end with them)
        for d in $(ip netns exec "$ns" virsh -q -c "$(uri $h $h)" list --all --name 2>/dev/null); do
            ip netns exec "$ns" virsh -q -c "$(uri $h $h)" destroy "$d" >/dev/null 2>&1
            ip netns exec "$ns" virsh -q -c "$(uri $h $h)" undefine "$d" >/dev/null 2>&1
        done
    done
    for h in a b; do
        for p in ${LVPID[$h]:-}; do kill "$p" 2>/dev/null; done
    done
    for h in a b; do
        for p in ${LVPID[$h]:-}; do
            for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        done
    done
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    [ $made_run_libvirt = 1 ] && rmdir /run/libvirt 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# the URI host $2's daemon is reached at, with host $1's client certificate
uri() {
    local addr
    addr=$([ "$2" = a ] && echo $ADDR_A || echo $ADDR_B)
    echo "qemu+tls://$addr/system?pkipath=$W/$1/pki-client"
}

# ---- network: two namespaces, a veth pair, addresses only inside
ip netns add "$NSA"
ip netns add "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" link add "${VETH}a" type veth peer name "${VETH}b" netns "$NSB"
ip -n "$NSA" address add $ADDR_A/24 dev "${VETH}a"
ip -n "$NSB" address add $ADDR_B/24 dev "${VETH}b"
ip -n "$NSA" link set "${VETH}a" up
ip -n "$NSB" link set "${VETH}b" up

# ---- a test CA and one certificate per host (server and client: libvirt's p2p source is a client of the other)
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem \
    -subj "/CN=jvirt libvirt bench CA" -days 2 2>/dev/null
for h in a b; do
    addr=$([ $h = a ] && echo $ADDR_A || echo $ADDR_B)
    mkdir -p $h/etc/qemu $h/run $h/lib $h/log $h/cache $h/pki-server $h/pki-client $h/pki-qemu
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $h/key.pem -out $h/req.csr \
        -subj "/CN=$addr/O=jvirt bench" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:%s\n' \
        "$addr" >$h/ext
    openssl x509 -req -in $h/req.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out $h/cert.pem -days 2 \
        -extfile $h/ext 2>/dev/null
    # libvirt's layout: the daemon's (libvirtd.conf names them), the client's (pkipath), QEMU's (cert dir)
    cp ca.pem $h/pki-client/cacert.pem
    cp $h/cert.pem $h/pki-client/clientcert.pem
    cp $h/key.pem $h/pki-client/clientkey.pem
    cp ca.pem $h/pki-qemu/ca-cert.pem
    for r in server client; do
        cp $h/cert.pem $h/pki-qemu/$r-cert.pem
        cp $h/key.pem $h/pki-qemu/$r-key.pem
    done
    # the same fixed RFC 7919 group jvirt stages (QemuTlsFiles): without it QEMU generates DH parameters at every
    # server-side TLS object, 270-390 ms on this host; the comparison is about the managers, not that pitfall
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out $h/pki-qemu/dh-params.pem 2>/dev/null
    chmod 600 $h/key.pem $h/pki-client/clientkey.pem $h/pki-qemu/*-key.pem
    cat >$h/etc/libvirtd.conf <<EOF
listen_tls = 1
listen_tcp = 0
listen_addr = "$addr"
auth_tls = "none"
auth_unix_rw = "none"
ca_file = "$W/ca.pem"
cert_file = "$W/$h/cert.pem"
key_file = "$W/$h/key.pem"
host_uuid = "$([ $h = a ] && echo 6a1f0c2e-0000-4000-8000-00000000000a || echo 6a1f0c2e-0000-4000-8000-00000000000b)"
log_outputs = "3:file:$W/$h/libvirtd.log"
EOF
    # as bench/libvirt.sh: QEMU as root on files where they are, no security driver or namespaces (none here)
    cat >$h/etc/qemu.conf <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
stdio_handler = "file"
default_tls_x509_cert_dir = "$W/$h/pki-qemu"
default_tls_x509_verify = 1
migration_address = "$addr"
EOF
    cp /etc/libvirt/virtlogd.conf $h/etc/ 2>/dev/null || true
done

# ---- the two daemons, each in its namespace with private mounts over libvirt's directories
[ -d /run/libvirt ] || { mkdir -p /run/libvirt; made_run_libvirt=1; }
bind_disk=""
if [ $storage = 1 ]; then
    qemu-img create -q -f qcow2 "$W/big.qcow2" 1G
    qemu-io -f qcow2 -c "write -P 0x5a 0 1G" "$W/big.qcow2" >/dev/null
    qemu-img create -q -f qcow2 "$W/b-big.qcow2" 1G
    bind_disk="mount --bind $W/b-big.qcow2 $W/big.qcow2"
fi
for h in a b; do
    ns=$([ $h = a ] && echo "$NSA" || echo "$NSB")
    ip netns exec "$ns" unshare -m -u --propagation private sh -c "
        hostname jvlv-$h
        mount --bind $W/$h/etc /etc/libvirt
        mount --bind $W/$h/run /run/libvirt
        mount --bind $W/$h/lib /var/lib/libvirt
        mount --bind $W/$h/log /var/log/libvirt
        mount --bind $W/$h/cache /var/cache/libvirt
        mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu
        $([ $h = b ] && echo "$bind_disk")
        virtlogd -d -p $W/$h/virtlogd.pid
        exec libvirtd -d --listen -p $W/$h/libvirtd.pid
    "
    for _ in $(seq 1 100); do [ -S $W/$h/run/libvirt-sock ] && [ -s $W/$h/libvirtd.pid ] && break; sleep 0.1; done
    [ -S $W/$h/run/libvirt-sock ] || die "libvirtd $h did not start: $(tail -5 $W/$h/libvirtd.log 2>/dev/null)"
    LVPID[$h]="$(cat $W/$h/libvirtd.pid) $(cat $W/$h/virtlogd.pid 2>/dev/null)"
done
for h in a b; do
    ns=$([ $h = a ] && echo "$NSA" || echo "$NSB")
    for _ in $(seq 1 50); do
        ip netns exec "$ns" virsh -q -c "$(uri $h $h)" version >/dev/null 2>&1 && break
        sleep 0.2
    done
    ip netns exec "$ns" virsh -q -c "$(uri $h $h)" version >/dev/null || die "cannot reach libvirtd $h over TLS"
done
log "two libvirtds up (TLS on $ADDR_A:16514 and $ADDR_B:16514)"

domain_xml() { # name memMiB [disk]
    cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$guest/vmlinux</kernel><initrd>$guest/initrd.img</initrd><cmdline>console=ttyS0</cmdline></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    ${3:+<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$3'/><target dev='vda' bus='virtio'/></disk>}
    <controller type='usb' model='none'/>
    <serial type='pty'/><console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# virsh -t prints "(Time: N ms)" for the command alone (not virsh's own start and connect)
vtime() { sed -n 's/.*(Time: \([0-9.]*\) ms).*/\1/p' | tail -1 | cut -d. -f1; }
# domjobinfo --completed: "Time elapsed" and "Total downtime" of the last migration, in ms
jobfield() { sed -n "s/^$1: *\([0-9]*\) *ms.*/\1/p" | head -1; }

out="$W/out.txt"
: >"$out"
: >"$W/jobinfo.txt"
{
    echo "virsh migrate --live --p2p --tls --persistent --undefinesource, qemu+tls between two libvirtds (9.0) in two"
    echo "network namespaces, idle 256 MiB tiny guest (TCG), alternating A->B / B->A, $runs runs"
    printf '%-5s %10s %12s %12s %12s\n' run "virsh ms" "wall ms" "total ms" "downtime ms"
} >>"$out"
domain_xml bench 256 >"$W/bench.xml"
ip netns exec "$NSA" virsh -q -c "$(uri a a)" define "$W/bench.xml" >/dev/null
ip netns exec "$NSA" virsh -q -c "$(uri a a)" start bench >/dev/null
sleep 8 # the guest boots and goes idle, as the floor's (nobody reads its console)
from=a; to=b
vms=(); walls=(); totals=(); downs=()
for i in $(seq 1 "$runs"); do
    fns=$([ $from = a ] && echo "$NSA" || echo "$NSB")
    tns=$([ $to = a ] && echo "$NSA" || echo "$NSB")
    taddr=$([ $to = a ] && echo $ADDR_A || echo $ADDR_B)
    t0=$(date +%s%N)
    res=$(ip netns exec "$fns" virsh -t -c "$(uri $from $from)" migrate --live --p2p --tls --persistent \
        --undefinesource bench "$(uri $from $to)" "tcp://$taddr" 2>&1) || die "virsh migrate failed: $res"
    wall=$(( ($(date +%s%N) - t0) / 1000000 ))
    vt=$(echo "$res" | vtime)
    info=$(ip netns exec "$tns" virsh -q -c "$(uri $to $to)" domjobinfo --completed bench 2>&1 || true)
    total=$(echo "$info" | jobfield "Time elapsed")
    down=$(echo "$info" | jobfield "Total downtime")
    printf '%-5s %10s %12s %12s %12s\n' "$i" "$vt" "$wall" "${total:-?}" "${down:-?}" >>"$out"
    { echo "--- run $i: domjobinfo --completed on the destination"; echo "$info"; } >>"$W/jobinfo.txt"
    vms+=("$vt"); walls+=("$wall"); totals+=("${total:-0}"); downs+=("${down:-0}")
    t=$from; from=$to; to=$t
    sleep 2
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-5s %10s %12s %12s %12s\n' median "$(med "${vms[@]}")" "$(med "${walls[@]}")" "$(med "${totals[@]}")" \
    "$(med "${downs[@]}")" >>"$out"
echo "(virsh ms: virsh -t, the migrate command after its connection; wall: the whole virsh process; total and" \
    "downtime: domjobinfo --completed on the destination)" >>"$out"
fns=$([ $from = a ] && echo "$NSA" || echo "$NSB")
ip netns exec "$fns" virsh -q -c "$(uri $from $from)" destroy bench >/dev/null
ip netns exec "$fns" virsh -q -c "$(uri $from $from)" undefine bench >/dev/null

if [ $storage = 1 ]; then
    # A's disk full of data; B sees an empty image of the same size at the same path (its own bind mount), as
    # a host with non-shared storage where the operator pre-created it (libvirt needs the target to exist)
    ip netns exec "$NSA" virsh -q -c "$(uri a a)" define <(domain_xml big 256 "$W/big.qcow2") >/dev/null
    ip netns exec "$NSA" virsh -q -c "$(uri a a)" start big >/dev/null
    sleep 8
    t0=$(date +%s%N)
    res=$(ip netns exec "$NSA" virsh -t -c "$(uri a a)" migrate --live --p2p --tls --persistent --undefinesource \
        --copy-storage-all big "$(uri a b)" "tcp://$ADDR_B" 2>&1) || die "virsh migrate --copy-storage-all failed: $res"
    wall=$(( ($(date +%s%N) - t0) / 1000000 ))
    info=$(ip netns exec "$NSB" virsh -q -c "$(uri b b)" domjobinfo --completed big 2>&1 || true)
    echo "--copy-storage-all, 1 GiB qcow2 full of data, one run A->B: virsh -t $(echo "$res" | vtime) ms, wall $wall ms," \
        "total $(echo "$info" | jobfield "Time elapsed") ms, downtime $(echo "$info" | jobfield "Total downtime") ms" >>"$out"
    { echo "--- copy-storage-all: domjobinfo --completed on the destination"; echo "$info"; } >>"$W/jobinfo.txt"
    ip netns exec "$NSB" virsh -q -c "$(uri b b)" destroy big >/dev/null
    ip netns exec "$NSB" virsh -q -c "$(uri b b)" undefine big >/dev/null
fi
echo "load average: $(cat /proc/loadavg)" >>"$out"
cat "$out"
cd "$JVIRT_ROOT"
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%MZ)
cat "$out" "$W/jobinfo.txt" >"bench/results/migration-libvirt-$stamp.txt"

if [ $jvirt = 1 ]; then
    find_jdk
    tests='MigrationBenchmark#measure'
    [ $storage = 1 ] && tests='MigrationBenchmark#measure+storage'
    mvn -q -B -o -Djvirt.test.guest="$guest" -Dbench.runs="$runs" -Dbench.dirty=false -Dtest="$tests" \
        -Dsurefire.failIfNoSpecifiedTests=false test
fi
