#!/usr/bin/env bash
# The networks issue's benchmarks, on demand (not a test), inside network namespaces of their own (nothing on the
# host's own interfaces, routes or rules changes; the fixture checks it): net-start latency, VM start latency with a
# managed NIC vs user-mode, TCP throughput guest -> guest and guest -> host on a nat network vs the same QEMU taps
# set up by hand (busybox dd | nc), with and without vhost-net when /dev/vhost-net exists; with --libvirt,
# `virsh net-start default` in the same namespace (libvirtd runs there, ended by PID).
#
#   bench/network.sh [--libvirt] [--runs N] [--mib N]
#
# Results go to stdout and bench/results/network-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

with_libvirt=0
runs=5
mib=32
while [ $# -gt 0 ]; do
    case "$1" in
        --libvirt) with_libvirt=1 ;;
        --runs) runs="$2"; shift ;;
        --mib) mib="$2"; shift ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
install_deps
[ "$with_libvirt" = 1 ] && apt_install libvirt-daemon-system libvirt-clients
guest_dir="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest_dir" >/dev/null
cd "$JVIRT_ROOT"
log "building"
mvn -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath >&2
mkdir -p bench/results
out="bench/results/network-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "jvirt network benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}')"
    "$JAVA_HOME/bin/java" -cp "target/classes:target/test-classes:$(cat target/bench.classpath)" \
        -Djvirt.test.guest="$guest_dir" io.jvirt.network.NetworkBenchmark "$runs" "$mib"
} 2>&1 | grep -v '^[0-9:. ]*\[.*\] \(INFO\|DEBUG\)' | tee "$out"
log "saved $out"
