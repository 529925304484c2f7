#!/usr/bin/env bash
# Makes the AOT cache (JEP 483/514, JDK >= 25) that bin/jvirtd starts with: one training run of the daemon records
# the classes its start, the API and the adoption of a running VM load, and the JVM writes them, loaded and linked,
# at the run's exit. It halves the time from exec to the first answer (bench/README.md, restart time).
#
#   scripts/train-daemon-aot.sh        (build_jar in scripts/lib.sh runs it; a no-op when the cache is there)
#
# The cache belongs to one jar copy and one JDK (scripts/lib.sh daemon_aot_cache); a rebuilt jar gets a new copy
# and so a new cache. With a JDK older than 25 nothing is made and the daemon starts without one.
# When the tiny guest is there (JVIRT_GUEST_DIR or ~/.cache/jvirt/guest) the training also adopts a running VM:
# a first daemon starts it and is killed with -9, the training daemon reconciles it, then destroys it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk >/dev/null
major=$(java_major "$JAVA_HOME/bin/java")
if [ "${major%%.*}" -lt 25 ]; then
    log "JDK $major: no AOT cache for jvirtd (needs 25 or newer); it starts without one"
    exit 0
fi
[ -f "$JVIRT_ROOT/target/jvirt.jar" ] || die "target/jvirt.jar missing; run 'mvn -DskipTests package' first"
copy=$(daemon_jar_copy)
aot=$(daemon_aot_cache "$copy")
[ -f "$aot" ] && exit 0
log "training jvirtd's AOT cache ($aot)"

work=$(mktemp -d /tmp/jvirt-aot-train.XXXXXX)
sock="$work/run/jvirtd.sock"
pid=""
cleanup() {
    set +e
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"; wait "$pid" 2>/dev/null
    fi
    # a QEMU the training started and did not end (a failed step): by its pid file, checked by command line
    for f in "$work"/run/vms/*/qemu.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f"); grep -qa "$work" "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    rm -rf "$work" "$aot.partial.$$"
}
trap cleanup EXIT
mkdir -p "$work/state" "$work/run"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
api() { curl -s -o /dev/null --unix-socket "$sock" -H 'Content-Type: application/json' "$@" || true; }
start_daemon() {
    "$JVIRT_ROOT/bin/jvirtd" --state-dir "$work/state" --run-dir "$work/run" --accel tcg --no-default-network \
        --allow-dir "$guest" >>"$work/jvirtd.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do grep -q "jvirtd ready" "$work/jvirtd.log" && grep -q "jvirtd recovered" "$work/jvirtd.log" && return 0; sleep 0.1; done
    die "the training daemon did not start: $(tail -5 "$work/jvirtd.log")"
}

with_vm=0
if [ -f "$guest/vmlinux" ] && [ -f "$guest/initrd.img" ] && command -v qemu-system-x86_64 >/dev/null; then
    with_vm=1
    start_daemon
    api -X POST http://j/v1/vms -d "{\"name\":\"train\",\"memoryMiB\":128,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\",\"cmdline\":\"console=ttyS0\"}}"
    api -X POST "http://j/v1/vms/train/start?wait=true"
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    : >"$work/jvirtd.log"
fi

JVIRT_AOT_OUTPUT="$aot.partial.$$" start_daemon
for _ in 1 2 3; do
    api http://j/v1/vms; api http://j/v1/vms/train; api http://j/v1/host; api http://j/v1/vms/none
    api http://j/v1/operations; api http://j/v1/pools; api http://j/v1/networks; api http://j/v1/stats
    api http://j/v1/vms/train/console; api --max-time 0.3 http://j/v1/events
    api -X POST http://j/v1/vms -d '{"name":"bad name"}'
done
if [ "$with_vm" = 1 ]; then
    api -X POST "http://j/v1/vms/train/destroy"
    api -X DELETE http://j/v1/vms/train
fi
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
[ -f "$aot.partial.$$" ] || die "the JVM wrote no AOT cache: $(tail -5 "$work/jvirtd.log")"
mv -f "$aot.partial.$$" "$aot"
log "AOT cache for jvirtd: $(du -h "$aot" | cut -f1)"
