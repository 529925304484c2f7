#!/usr/bin/env bash
# Build a tiny bootable test guest (kernel + busybox initramfs) from Debian 12 packages only.
#
# Usage: scripts/build-tiny-guest.sh [OUT_DIR]
#   OUT_DIR defaults to ${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}.
#
# Produces in OUT_DIR:
#   vmlinux         uncompressed ELF kernel (boots with qemu -kernel through PVH)
#   initrd.img      gzip'd newc cpio, /init is a busybox sh script
#   kernel-release  e.g. 6.1.0-56-amd64
#   stamp           sha256 of this script; when it matches and the files exist we exit at once
#   debs/           cached .deb downloads (kernel), so rebuilds are fast
#
# The last line on stdout is the OUT_DIR path; all progress goes to stderr.
# See docs/tiny-guest.md for the guest's console protocol.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
OUT_DIR="${1:-${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd -P)"
GUEST_FILES=(vmlinux initrd.img kernel-release)

log() { printf 'build-tiny-guest: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

script_hash() { sha256sum "$SCRIPT_PATH" | cut -d' ' -f1; }

is_up_to_date() {
    local f
    [[ -f "$OUT_DIR/stamp" ]] || return 1
    [[ "$(cat "$OUT_DIR/stamp")" == "$(script_hash)" ]] || return 1
    for f in "${GUEST_FILES[@]}"; do
        [[ -s "$OUT_DIR/$f" ]] || return 1
    done
}

# Fast path: nothing to do (no lock needed, the stamp is written last).
if is_up_to_date; then
    printf '%s\n' "$OUT_DIR"
    exit 0
fi

# Serialise concurrent builders on a lock file next to OUT_DIR.
LOCK_FILE="$(dirname "$OUT_DIR")/.$(basename "$OUT_DIR").lock"
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
    log "another build holds $LOCK_FILE, waiting"
    flock -w 900 9 || die "timed out waiting for $LOCK_FILE"
fi
if is_up_to_date; then   # somebody else built it while we waited
    printf '%s\n' "$OUT_DIR"
    exit 0
fi

# Leftovers of builds that were killed hard (we hold the lock, so none is running).
rm -rf "$OUT_DIR"/.build.* "$OUT_DIR"/debs/.dl.* 2>/dev/null || true

# ---------------------------------------------------------------- host tools
APT_UPDATED=0
apt_install() {   # apt_install PKG...: install the packages not installed yet
    local missing=() p
    for p in "$@"; do
        [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $EUID -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
    log "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
}
apt_update() {
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        apt-get update >&2
        APT_UPDATED=1
    fi
}
apt_install xz-utils cpio gzip busybox-static qemu-guest-agent

BUSYBOX=/bin/busybox
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing after installing busybox-static"
"$BUSYBOX" --list | grep -x acpid >/dev/null || die "$BUSYBOX has no acpid applet"
QGA=/usr/sbin/qemu-ga
[[ -x "$QGA" ]] || die "$QGA missing after installing qemu-guest-agent"

# ---------------------------------------------------------------- kernel .deb
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}' || true)"
if [[ -z "$KPKG" ]]; then
    apt_update
    KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')"
fi
[[ -n "$KPKG" ]] || die "cannot resolve the kernel package behind linux-image-amd64"
KREL="${KPKG#linux-image-}"
log "kernel package $KPKG"

DEB_DIR="$OUT_DIR/debs"
mkdir -p "$DEB_DIR"
shopt -s nullglob
debs=("$DEB_DIR/${KPKG}_"*.deb)
if ((${#debs[@]} == 0)); then
    log "downloading $KPKG"
    dl_tmp="$(mktemp -d "$DEB_DIR/.dl.XXXXXX")"
    if ! (cd "$dl_tmp" && apt-get -q -o APT::Sandbox::User=root download "$KPKG" >&2); then
        apt_update
        (cd "$dl_tmp" && apt-get -q -o APT::Sandbox::User=root download "$KPKG" >&2)
    fi
    mv "$dl_tmp"/*.deb "$DEB_DIR/"
    rmdir "$dl_tmp"
    debs=("$DEB_DIR/${KPKG}_"*.deb)
fi
shopt -u nullglob
# Newest cached version wins if several accumulated.
KDEB="$(printf '%s\n' "${debs[@]}" | sort -V | tail -n1)"

# ---------------------------------------------------------------- build area
WORK="$(mktemp -d "$OUT_DIR/.build.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

log "extracting $(basename "$KDEB")"
KX="$WORK/kernel"
mkdir -p "$KX"
dpkg-deb -x "$KDEB" "$KX"
VMLINUZ="$KX/boot/vmlinuz-$KREL"
[[ -f "$VMLINUZ" ]] || die "no boot/vmlinuz-$KREL in $KDEB"
MODDIR="$KX/lib/modules/$KREL"
[[ -d "$MODDIR" ]] || MODDIR="$KX/usr/lib/modules/$KREL"
[[ -d "$MODDIR" ]] || die "no modules directory for $KREL in $KDEB"

# vmlinux: cut the bzImage at the xz magic (FD 37 7A 58 5A 00) and decompress one stream.
log "extracting vmlinux from vmlinuz"
XZ_OFF="$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$VMLINUZ" | head -n1 | cut -d: -f1 || true)"
[[ -n "$XZ_OFF" ]] || die "no xz payload found in $VMLINUZ"
# (xz stops after the first stream; reading through a process substitution keeps tail's SIGPIPE
# for the trailing bytes out of pipefail.)
xz -dc --single-stream < <(tail -c "+$((XZ_OFF + 1))" "$VMLINUZ" 2>/dev/null) >"$WORK/vmlinux" \
    || die "xz payload of $VMLINUZ did not decompress"
[[ "$(head -c4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" == "7f454c46" ]] \
    || die "decompressed payload is not an ELF file"
printf '%s\n' "$KREL" >"$WORK/kernel-release"

# ---------------------------------------------------------------- initramfs tree
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var/log,lib/modules,etc/acpi/PWRF}
ln -s ../run "$R/var/run"
chmod 1777 "$R/tmp"

# busybox and its applets
cp "$BUSYBOX" "$R/bin/busybox"
while read -r applet; do
    [[ "$applet" == /bin/busybox || -e "$R$applet" ]] && continue
    mkdir -p "$R$(dirname "$applet")"
    ln -s /bin/busybox "$R$applet"
done < <("$BUSYBOX" --list-full | sed 's|^|/|')

# kernel modules, dependencies first (resolved from each module's own modinfo "depends=")
WANTED_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
    virtio_blk virtio_console failover net_failover virtio_net virtio_balloon virtio_mem button evdev)
# a real filesystem on a virtio disk (busybox mke2fs makes ext2, which ext4 mounts): the guest agent's fsinfo and
# fsfreeze have something to report and freeze
WANTED_MODULES+=(crc32c_generic ext4)   # ext4 asks the crypto API for crc32c at mount
declare -A MOD_PATH=() MOD_DONE=()
while IFS= read -r -d '' f; do
    b="$(basename "$f")"; b="${b%%.ko*}"
    MOD_PATH["${b//-/_}"]="$f"
done < <(find "$MODDIR/kernel" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) -print0)
BUILTIN_LIST="$MODDIR/modules.builtin"
MOD_ORDER=()
mod_add() {   # mod_add NAME: append NAME after its dependencies
    local name="$1" f deps d   # (a file per module: dependencies are added while it is open)
    [[ -n "${MOD_DONE[$name]:-}" ]] && return 0
    MOD_DONE[$name]=1
    f="${MOD_PATH[$name]:-}"
    if [[ -z "$f" ]]; then
        if [[ -f "$BUILTIN_LIST" ]] && grep -Eq "/${name//_/[-_]}\.ko$" "$BUILTIN_LIST"; then
            log "module $name is built in"
            return 0
        fi
        die "module $name not found in $KDEB"
    fi
    case "$f" in
        *.ko.xz) xz -dc "$f" >"$WORK/mod-$name.ko" ;;
        *.ko.zst) command -v zstd >/dev/null || apt_install zstd; zstd -qdc "$f" >"$WORK/mod-$name.ko" ;;
        *) cp "$f" "$WORK/mod-$name.ko" ;;
    esac
    deps="$(LC_ALL=C grep -aoE 'depends=[A-Za-z0-9_,-]*' "$WORK/mod-$name.ko" | head -n1 | cut -d= -f2 || true)"
    for d in ${deps//,/ }; do mod_add "${d//-/_}"; done
    mv "$WORK/mod-$name.ko" "$R/lib/modules/$name.ko"
    MOD_ORDER+=("$name")
}
for m in "${WANTED_MODULES[@]}"; do mod_add "$m"; done
printf '%s\n' "${MOD_ORDER[@]}" >"$R/lib/modules/load-order"
log "modules: ${MOD_ORDER[*]}"

# qemu-ga with the libraries ldd names (and the loader at its exact path)
copy_with_libs() {   # copy_with_libs BINARY: copy it and its shared libraries into the tree
    local bin="$1" lib
    mkdir -p "$R$(dirname "$bin")"
    cp -L "$bin" "$R$bin"
    while read -r lib; do
        [[ -n "$lib" && -e "$lib" && ! -e "$R$lib" ]] || continue
        mkdir -p "$R$(dirname "$lib")"
        cp -L "$lib" "$R$lib"
    done < <(ldd "$bin" | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}')
}
copy_with_libs "$QGA"
# Debian 12 has merged /usr; the loader path in the ELF is /lib64/ld-linux-x86-64.so.2.
INTERP="$(LC_ALL=C grep -aom1 '/lib[0-9a-z_/.-]*ld-linux[a-z0-9_.-]*' "$QGA" || true)"
if [[ -n "$INTERP" && ! -e "$R$INTERP" ]]; then
    mkdir -p "$R$(dirname "$INTERP")"
    cp -L "$INTERP" "$R$INTERP"
fi

cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
guest:x:1000:1000:guest:/root:/bin/sh
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
guest:x:1000:
EOF
# shadow entries for qemu-ga's guest-set-user-password (through the chpasswd below); "*": no password yet
cat >"$R/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
guest:*:19000:0:99999:7:::
EOF
chmod 600 "$R/etc/shadow"
printf 'jvirt-guest\n' >"$R/etc/hostname"
cat >"$R/etc/os-release" <<'EOF'
PRETTY_NAME="jvirt tiny guest (busybox)"
NAME="jvirt-tiny-guest"
ID=jvirt-tiny
VERSION_ID="1"
EOF

# qemu-ga's guest-set-user-password runs `chpasswd` (with -e for an already crypt()ed one) and writes
# "USER:PASSWORD" to its stdin; busybox-static has no chpasswd applet, so a small one edits /etc/shadow.
cat >"$R/usr/sbin/chpasswd" <<'EOF'
#!/bin/sh
crypted=0
[ "$1" = "-e" ] && crypted=1
IFS= read -r line || exit 1
user="${line%%:*}"
pass="${line#*:}"
grep -q "^$user:" /etc/shadow || { echo "chpasswd: unknown user $user" >&2; exit 1; }
if [ "$crypted" = 1 ]; then hash="$pass"; else hash="$(mkpasswd -m sha512 "$pass")" || exit 1; fi
# the hash may hold '/' and '$': awk, not sed, replaces the second field
awk -F: -v OFS=: -v u="$user" -v h="$hash" '$1 == u { $2 = h } { print }' /etc/shadow >/etc/shadow.new \
    && chmod 600 /etc/shadow.new && mv /etc/shadow.new /etc/shadow
EOF
chmod 755 "$R/usr/sbin/chpasswd"

# ACPI power button (button.ko -> input device -> evdev) -> busybox acpid -> power off.
# acpid's built-in tables map KEY_POWER to "PWRF/00000080" under its config dir.
cat >"$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "JVIRT-GUEST-POWERDOWN" >/dev/ttyS0 2>/dev/null
sync
exec poweroff -f
EOF
chmod 755 "$R/etc/acpi/PWRF/00000080"

# qemu-ga's guest-shutdown runs /sbin/shutdown -P|-H|-r +0 MSG; busybox has no shutdown applet.
rm -f "$R/sbin/shutdown"
cat >"$R/sbin/shutdown" <<'EOF'
#!/bin/sh
# Minimal shutdown(8) for qemu-ga: -P power off, -H halt, -r reboot.
action=poweroff
for a in "$@"; do
    case "$a" in
        -r) action=reboot ;;
        -H|-h) action=halt ;;
        -P) action=poweroff ;;
    esac
done
sync
( sleep 1; "$action" -f ) >/dev/null 2>&1 &
exit 0
EOF
chmod 755 "$R/sbin/shutdown"

# udhcpc script: apply the lease with busybox ip
mkdir -p "$R/etc/udhcpc"
cat >"$R/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        : >/etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done ;;
esac
exit 0
EOF
chmod 755 "$R/etc/udhcpc/default.script"

# Hotplug without udev: busybox `uevent` runs this for every kernel uevent (netlink, no polling). New vCPUs
# and memory blocks are onlined (Debian's kernel leaves both offline), new NICs come up with DHCP.
cat >"$R/sbin/guest-uevent" <<'EOF'
#!/bin/sh
[ "$ACTION" = add ] || exit 0
case "$SUBSYSTEM" in
    cpu)
        f="/sys$DEVPATH/online"
        [ -e "$f" ] && [ "$(cat "$f")" = 0 ] && echo 1 >"$f" ;;
    memory)
        f="/sys$DEVPATH/state"
        [ -e "$f" ] && [ "$(cat "$f")" = offline ] && echo online_movable >"$f" 2>/dev/null ;;
    net)
        case "$INTERFACE" in
            eth*)
                ip link set "$INTERFACE" up
                udhcpc -f -q -t 10 -s /etc/udhcpc/default.script -i "$INTERFACE" -p "/run/udhcpc.$INTERFACE.pid" \
                    </dev/null >"/run/udhcpc.$INTERFACE.log" 2>&1 & ;;
        esac ;;
esac
exit 0
EOF
chmod 755 "$R/sbin/guest-uevent"

# /bin/guestinfo: what the guest itself sees, on one line ending in "=END" (for tests: memory, CPUs, disks, NICs).
cat >"$R/bin/guestinfo" <<'EOF'
#!/bin/sh
mem="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
cpus="$(cat /sys/devices/system/cpu/online)"
n=0
for c in /sys/devices/system/cpu/cpu[0-9]*; do
    if [ ! -e "$c/online" ] || [ "$(cat "$c/online")" = 1 ]; then n=$((n + 1)); fi
done
disks=""
for d in /sys/block/vd*; do [ -e "$d" ] && disks="$disks${disks:+,}${d##*/}"; done
nics=""
for i in /sys/class/net/eth*; do
    [ -e "$i" ] || continue
    name="${i##*/}"
    addr="$(ip -4 -o addr show dev "$name" 2>/dev/null | awk '{print $4; exit}')"
    nics="$nics${nics:+,}$name/$(cat "$i/address")/${addr:-none}"
done
echo "GUESTINFO mem_kb=$mem cpus=$cpus ncpus=$n disks=${disks:-none} nics=${nics:-none} =END"
EOF
chmod 755 "$R/bin/guestinfo"

# /bin/seqwriter DEV: durable sequence writer used by fault-injection tests.
cat >"$R/bin/seqwriter" <<'EOF'
#!/bin/sh
# seqwriter DEV: for N=1,2,3,... write the decimal N (ASCII digits, NUL-padded to 512 bytes) to
# sector 0 of DEV with a flush (conv=fsync), then print "SEQ N". Stops with "SEQ-ERROR N" on failure.
dev="${1:?usage: seqwriter DEV}"
n=0
while :; do
    n=$((n + 1))
    if ! printf '%d' "$n" | dd of="$dev" bs=512 count=1 conv=sync,notrunc,fsync 2>/dev/null; then
        echo "SEQ-ERROR $n"
        exit 1
    fi
    echo "SEQ $n"
done
EOF
chmod 755 "$R/bin/seqwriter"

# /init
cat >"$R/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=vt100 ENV=/etc/shrc PS1='# '
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
hostname -F /etc/hostname
# Keep the serial console clean for the test protocol (only emergencies reach it).
echo 1 >/proc/sys/kernel/printk

# Memory and vCPUs hot-added later are onlined (memory as movable, so a DIMM can be unplugged again): the
# kernel's auto-online for memory, the uevent helper for CPUs (and for memory the auto-online missed).
echo online_movable >/sys/devices/system/memory/auto_online_blocks 2>/dev/null
uevent /sbin/guest-uevent >/dev/null 2>&1 &

while read -r m; do
    insmod "/lib/modules/$m.ko" 2>/dev/null
done </lib/modules/load-order
# present at boot but offline (cold-plugged DIMMs and vCPUs beyond the first are not onlined by the kernel)
for f in /sys/devices/system/memory/memory*/state; do
    [ -e "$f" ] && [ "$(cat "$f")" = offline ] && echo online_movable >"$f" 2>/dev/null
done
for f in /sys/devices/system/cpu/cpu[0-9]*/online; do
    [ -e "$f" ] && [ "$(cat "$f")" = 0 ] && echo 1 >"$f"
done

# has_virtio ID: is there a virtio device of that type (2 = block, 3 = console, 1 = net)?
has_virtio() {
    for d in /sys/bus/virtio/devices/*/device; do
        [ -e "$d" ] && [ "$(cat "$d")" = "$(printf '0x%04x' "$1")" ] && return 0
    done
    return 1
}
# wait_for N CMD...: retry CMD every 50 ms, at most N tries
wait_for() {
    n="$1"; shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        usleep 50000
        n=$((n - 1))
    done
    return 1
}
disks_ready() {
    for d in /sys/bus/virtio/drivers/virtio_blk/virtio*/block/*; do
        [ -e "$d" ] || return 1
        [ -b "/dev/${d##*/}" ] || return 1
    done
    return 0
}
qga_port() {
    for p in /sys/class/virtio-ports/*; do
        [ -e "$p/name" ] && [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ] && { echo "${p##*/}"; return 0; }
    done
    return 1
}

if has_virtio 2; then
    wait_for 60 disks_ready || echo "jvirt-guest: virtio disk did not appear" >/dev/ttyS0
fi

if has_virtio 3 && wait_for 60 qga_port >/dev/null; then
    port="$(qga_port)"
    if [ ! -c "/dev/$port" ]; then
        IFS=: read -r maj min <"/sys/class/virtio-ports/$port/dev"
        mknod "/dev/$port" c "$maj" "$min"
    fi
    mkdir -p /dev/virtio-ports
    ln -sf "../$port" /dev/virtio-ports/org.qemu.guest_agent.0
    qemu-ga -m virtio-serial -p "/dev/$port" -t /run -f /run/qemu-ga.pid -d -l /run/qemu-ga.log
fi

# root's console session in utmp (no login program writes one here), so guest-get-users has a user to report:
# glibc's struct utmp on x86_64, 384 bytes: USER_PROCESS, pid, line, id, user, host, exit, session, time, addr
le32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
field() { printf '%s' "$1"; head -c $(($2 - ${#1})) /dev/zero; }
{ printf '\007\000\000\000'; le32 $$; field ttyS0 32; field S0 4; field root 32; head -c 264 /dev/zero
  le32 "$(date +%s)"; head -c 40 /dev/zero; } >/run/utmp

ip link set lo up
for n in /sys/class/net/eth*; do
    [ -e "$n" ] || continue
    ip link set "${n##*/}" up
    # DHCP in the background: never delays the ready line (slirp answers within a few seconds).
    udhcpc -f -q -t 10 -s /etc/udhcpc/default.script -i "${n##*/}" -p "/run/udhcpc.${n##*/}.pid" </dev/null >"/run/udhcpc.${n##*/}.log" 2>&1 &
done

acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid

# busybox poweroff/halt/reboot without -f signal PID 1 (USR2/USR1/TERM): honour them.
trap 'sync; poweroff -f' USR2
trap 'sync; halt -f' USR1
trap 'sync; reboot -f' TERM

# A wide terminal stops busybox's line editor from wrapping long typed commands at 80 columns.
stty -F /dev/ttyS0 cols 4000 rows 50 2>/dev/null

echo JVIRT-GUEST-READY >/dev/ttyS0
while :; do
    # Own session with ttyS0 as controlling terminal so ^C and job control work.
    setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1' &
    wait $!
done
EOF
chmod 755 "$R/init"
# ash -i reads $ENV (set in /init): pin the prompt to "# ".
printf "PS1='# '\n" >"$R/etc/shrc"

log "packing initrd.img"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    | gzip -6 -n >"$WORK/initrd.img"

# ---------------------------------------------------------------- install atomically
rm -f "$OUT_DIR/stamp"
for f in "${GUEST_FILES[@]}"; do
    mv -f "$WORK/$f" "$OUT_DIR/$f"
done
script_hash >"$WORK/stamp"
mv -f "$WORK/stamp" "$OUT_DIR/stamp"
log "built $KREL guest: initrd $(stat -c %s "$OUT_DIR/initrd.img") bytes, vmlinux $(stat -c %s "$OUT_DIR/vmlinux") bytes"
printf '%s\n' "$OUT_DIR"
