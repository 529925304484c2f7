#!/usr/bin/env bash
# Boot the tiny test guest once under QEMU and check its contract:
#   ready marker on ttyS0, shell prompt, write/read round trip on a scratch virtio disk (durable on the
#   host after conv=fsync), seqwriter, guest agent guest-ping, virtio NIC present, and a graceful
#   QMP system_powerdown that ends in a SHUTDOWN event and QEMU exiting.
#
# Usage: scripts/check-tiny-guest.sh [GUEST_DIR]
#   GUEST_DIR defaults to what scripts/build-tiny-guest.sh prints (it builds the guest if needed).
#   JVIRT_ACCEL=tcg|kvm (default tcg).  Exits non-zero on the first failed check.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ACCEL="${JVIRT_ACCEL:-tcg}"
QEMU="${QEMU:-qemu-system-x86_64}"

log() { printf 'check-tiny-guest: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; if [[ -n "${T:-}" && -f "$T/serial.log" ]]; then log "---- serial log ----"; cat -v "$T/serial.log" >&2; fi; exit 1; }

if [[ $# -ge 1 ]]; then
    GUEST_DIR="$1"
else
    GUEST_DIR="$("$HERE/build-tiny-guest.sh" | tail -n1)"
fi
for f in vmlinux initrd.img; do
    [[ -s "$GUEST_DIR/$f" ]] || fail "$GUEST_DIR/$f missing (run scripts/build-tiny-guest.sh)"
done
command -v socat >/dev/null || fail "socat is needed (apt-get install socat)"

T="$(mktemp -d "${TMPDIR:-/tmp}/jvirt-guest-check.XXXXXX")"
QEMU_PID=""
READER_PID=""
cleanup() {
    set +e
    exec 7>&- 2>/dev/null
    if [[ -n "$QEMU_PID" ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
    fi
    if [[ -n "$READER_PID" ]]; then kill "$READER_PID" 2>/dev/null; wait "$READER_PID" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# wait_serial REGEX SECONDS: wait until the serial log has a line matching REGEX
wait_serial() {
    local deadline=$(($(now_ms) + $2 * 1000))
    while (($(now_ms) < deadline)); do
        grep -aEq -- "$1" "$T/serial.log" 2>/dev/null && return 0
        kill -0 "$QEMU_PID" 2>/dev/null || return 1
        # KVM failures pause the VM instead of exiting QEMU: fail fast.
        grep -q 'KVM internal error' "$T/qemu.log" 2>/dev/null && return 1
        sleep 0.02
    done
    return 1
}
# send LINE: type a line on the guest's serial console
send() { printf '%s\n' "$1" >&7; }

truncate -s 16M "$T/disk.raw"
mkfifo "$T/serial.in" "$T/serial.out"

START_MS="$(now_ms)"
"$QEMU" -accel "$ACCEL" -m 128 -smp 1 -display none -monitor none -no-user-config -nodefaults \
    -kernel "$GUEST_DIR/vmlinux" -initrd "$GUEST_DIR/initrd.img" -append "console=ttyS0" \
    -serial "pipe:$T/serial" \
    -qmp "unix:$T/qmp.sock,server=on,wait=off" \
    -blockdev "driver=file,node-name=scratch0,filename=$T/disk.raw" \
    -device virtio-blk-pci,drive=scratch0 \
    -device virtio-serial \
    -chardev "socket,id=qga0,path=$T/qga.sock,server=on,wait=off" \
    -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
    -netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
    >"$T/qemu.log" 2>&1 &
QEMU_PID=$!
cat "$T/serial.out" >"$T/serial.log" &
READER_PID=$!
exec 7>"$T/serial.in"

wait_serial '^JVIRT-GUEST-READY' 60 || { head -n 20 "$T/qemu.log" >&2; fail "no JVIRT-GUEST-READY line"; }
READY_MS=$(($(now_ms) - START_MS))
log "ready after ${READY_MS} ms (accel=$ACCEL)"
wait_serial '^# ' 10 || fail "no shell prompt"

# Write/read round trip on the scratch disk; $((...)) makes the result line differ from the typed echo.
send 'echo hello | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; echo "RT=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 5)=$((40+2))"'
wait_serial '^RT=hello=42' 20 || fail "write/read round trip on /dev/vda"
[[ "$(head -c 5 "$T/disk.raw")" == "hello" ]] || fail "guest write not visible in the host image after fsync"
log "disk round trip ok (and durable on the host)"

# seqwriter for a short while
send 'timeout 2 seqwriter /dev/vda >/tmp/seq.log; echo "SW=$(tail -n1 /tmp/seq.log)=$((40+2))"'
wait_serial '^SW=SEQ [0-9]+=42' 30 || fail "seqwriter"
last="$(grep -aoE '^SW=SEQ [0-9]+' "$T/serial.log" | tail -n1 | cut -d' ' -f2)"
on_disk="$(head -c 512 "$T/disk.raw" | tr -d '\0')"
[[ "$on_disk" =~ ^[0-9]+$ ]] && ((on_disk >= last)) || fail "seqwriter: host sees '$on_disk', guest printed SEQ $last"
log "seqwriter ok (SEQ $last, host sector 0 = $on_disk)"

# virtio NIC
send 'echo "NET=$(cat /sys/class/net/eth0/address)=$((40+2))"'
wait_serial '^NET=[0-9a-f:]{17}=42' 10 || fail "no eth0"
log "virtio-net eth0 present"
# DHCP from QEMU's user-mode network runs in the background; give it a few seconds.
send 'for i in 1 2 3 4 5 6 7 8 9 10; do ip -4 addr show eth0 | grep -q "inet " && break; sleep 0.5; done; echo "IP=$(ip -4 addr show eth0 | grep -o "inet [0-9.]*")=$((40+2))"'
wait_serial '^IP=inet [0-9.]+=42' 20 || fail "eth0 got no DHCP address"
log "eth0 DHCP: $(grep -aoE '^IP=inet [0-9.]+' "$T/serial.log" | tail -n1 | cut -d' ' -f2)"

# guest agent (answers a few seconds after the ready line)
qga_ok=0
# Keep our write side open while waiting: a half-close makes QEMU drop the chardev connection
# before the guest has answered.
for _ in $(seq 1 20); do
    { printf '{"execute":"guest-ping"}\n'; sleep 1; } \
        | timeout 3 socat - "UNIX-CONNECT:$T/qga.sock" >"$T/qga.out" 2>/dev/null || true
    if grep -q '"return"' "$T/qga.out"; then qga_ok=1; break; fi
    sleep 0.2
done
((qga_ok)) || fail "guest agent did not answer guest-ping"
log "guest agent answers guest-ping"

# Graceful power-down through the ACPI power button
PD_MS="$(now_ms)"
{
    printf '{"execute":"qmp_capabilities"}\n'; sleep 0.2
    printf '{"execute":"system_powerdown"}\n'
    for _ in $(seq 1 100); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
} | timeout 15 socat -t 1 - "UNIX-CONNECT:$T/qmp.sock" 2>&1 \
  | while IFS= read -r line; do printf '%s %s\n' "$(now_ms)" "$line"; done >"$T/qmp.log" || true
shutdown_at="$(grep -m1 '"SHUTDOWN"' "$T/qmp.log" | cut -d' ' -f1)"
[[ -n "$shutdown_at" ]] || { cat "$T/qmp.log" >&2; fail "no SHUTDOWN event after system_powerdown"; }
for _ in $(seq 1 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QEMU_PID" 2>/dev/null && fail "QEMU still running after SHUTDOWN"
wait "$QEMU_PID" || true
QEMU_PID=""
log "system_powerdown -> SHUTDOWN event after $((shutdown_at - PD_MS)) ms, QEMU exited"
log "PASS (ready after ${READY_MS} ms)"
