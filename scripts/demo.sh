#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: install what is missing, build jvirt and the tiny guest,
# start jvirtd, define a VM with a disk and a NIC, boot it, and show it running with its console's ready line.
#
#   scripts/demo.sh          set up and run (the daemon and the VM keep running afterwards)
#   scripts/demo.sh stop     destroy the demo VM and stop the daemon
set -euo pipefail
source "$(dirname "$0")/lib.sh"

demo_dir="${JVIRT_DEMO_DIR:-$HOME/.local/share/jvirt-demo}"
state="$demo_dir/state"
run="$demo_dir/run"
export JVIRT_SOCKET="$run/jvirtd.sock"
jvirt="$JVIRT_ROOT/bin/jvirt"
pidfile="$demo_dir/jvirtd.pid"

daemon_alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if [ "${1:-}" = "stop" ]; then
    find_jdk
    "$jvirt" destroy demo 2>/dev/null || true
    if daemon_alive; then kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
    log "stopped (state kept in $demo_dir)"
    exit 0
fi

install_deps
build_jar
guest_dir="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
log "building the tiny guest (cached after the first time)"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest_dir" >/dev/null
mkdir -p "$state" "$run"

if ! daemon_alive; then
    log "starting jvirtd (state: $state, socket: $JVIRT_SOCKET)"
    # the guest and the demo's disk live under $HOME, which the path policy keeps private unless allowed by name
    JVIRT_GUEST_DIR="$guest_dir" nohup "$JVIRT_ROOT/bin/jvirtd" --state-dir "$state" --run-dir "$run" --no-default-network \
        --allow-dir "$guest_dir" --allow-dir "$demo_dir" >"$demo_dir/jvirtd.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 600); do
        grep -q "jvirtd ready" "$demo_dir/jvirtd.log" 2>/dev/null && break
        daemon_alive || { cat "$demo_dir/jvirtd.log" >&2; die "jvirtd did not start"; }
        sleep 0.1
    done
fi
"$jvirt" --output json list >/dev/null
aot="$JVIRT_ROOT/target/jvirt-cli.aot"
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 25 ] && ! [ "$aot" -nt "$JVIRT_ROOT/target/jvirt.jar" ]; then
    log "training the CLI's AOT cache (JDK 25: one-shot commands start faster)"
    "$JVIRT_ROOT/scripts/train-cli-aot.sh" "$JVIRT_SOCKET" >/dev/null 2>&1 || log "AOT training failed; the CLI works without it"
fi
install_completion

if ! "$jvirt" info demo >/dev/null 2>&1; then
    [ -f "$demo_dir/demo.qcow2" ] || qemu-img create -q -f qcow2 "$demo_dir/demo.qcow2" 64M
    cat >"$demo_dir/demo.yaml" <<YAML
name: demo
memoryMiB: 128
vcpus: 1
boot:
  kernel: $guest_dir/vmlinux
  initrd: $guest_dir/initrd.img
  cmdline: console=ttyS0
disks:
  - name: vda
    path: $demo_dir/demo.qcow2
    format: qcow2
nics:
  - name: net0
    type: user
YAML
    log "defining the VM 'demo' from $demo_dir/demo.yaml"
    "$jvirt" define "$demo_dir/demo.yaml"
fi

state_now=$("$jvirt" --output json info demo | sed -n 's/.*"state" *: *"\([a-z-]*\)".*/\1/p' | head -n1)
if [ "$state_now" != "running" ]; then
    log "booting it"
    "$jvirt" start demo
fi
log "waiting for the guest's ready line on its serial console"
"$jvirt" console demo --wait-for JVIRT-GUEST-READY --timeout 120 || die "the guest did not print its ready line"
echo
"$jvirt" list
echo
"$jvirt" info demo
cat <<EOF2

The VM runs. Try:
  export JVIRT_SOCKET=$JVIRT_SOCKET
  $jvirt console demo          # type commands into the guest; Ctrl-] leaves
  $jvirt start <TAB>           # names come from the daemon (new shells; or: source <($jvirt completion bash))
  $jvirt shutdown demo
  $0 stop                      # destroy the VM and stop the daemon
EOF2
