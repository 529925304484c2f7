#!/usr/bin/env bash
# Build a signed template repository in virt-builder's format, from Debian packages only.
#
# Usage: scripts/build-templates.sh OUT_DIR [--no-debian]
#
# Produces in OUT_DIR:
#   jvirt-tiny-fs.img.xz     a 64 MiB ext4 filesystem image (seconds to build; what the tests use)
#   debian-12.img.xz         a minimal Debian 12 root filesystem (debootstrap --variant=minbase, plus a kernel,
#                            systemd, udev and qemu-guest-agent) as a bare ext4 image of 2 GiB, made with
#                            mkfs.ext4 -d: no loop mount. Skipped with --no-debian. Takes minutes; cached.
#   debian-12.vmlinuz, debian-12.initrd.img
#                            its kernel and initramfs, for QEMU direct kernel boot:
#                            -kernel ... -initrd ... -append "root=/dev/vda console=ttyS0"
#   index                    virt-builder index ([id], name, osinfo, arch, file, revision, checksum[sha512],
#                            format, size, compressed_size, notes, aliases)
#   index.asc                the index clear-signed with the project test key
#   jvirt-templates.pub.asc  that key's public half (give it to jvirtd --image-source URI,KEYFILE)
#   .signing-gnupg/          the GNUPGHOME holding the test key; made on the first run, reused after
#
# Environment:
#   JVIRT_TEMPLATE_CACHE  where the slow Debian image is cached (default ~/.cache/jvirt/templates)
#   JVIRT_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the first Debian URI apt is configured with)
#
# The last line on stdout is OUT_DIR; progress goes to stderr.
set -euo pipefail

log() { printf 'build-templates: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $# -ge 1 ]] || die "usage: $0 OUT_DIR [--no-debian]"
OUT_DIR="$1"
WITH_DEBIAN=1
[[ "${2:-}" == "--no-debian" ]] && WITH_DEBIAN=0
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd -P)"
CACHE="${JVIRT_TEMPLATE_CACHE:-$HOME/.cache/jvirt/templates}"
mkdir -p "$CACHE"

need() {
    local missing=() t pkg
    for t in "$@"; do
        pkg="${t#*:}"; t="${t%%:*}"
        command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$t" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "installing ${missing[*]}"
        [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]})"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
    fi
}
export PATH="$PATH:/usr/sbin:/sbin"
need gpg:gnupg xz:xz-utils mkfs.ext4:e2fsprogs sha512sum:coreutils

apt_mirror() {
    local m=""
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z "$m" && -f /etc/apt/sources.list ]]; then
        m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [[ -n "$m" ]] || die "no Debian mirror in apt's configuration; set JVIRT_DEBIAN_MIRROR"
    printf '%s\n' "$m"
}

# ---------------------------------------------------------------- tiny synthetic template (ext4, seconds)
build_tiny() {
    local work img
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    mkdir -p "$work/root/etc" "$work/root/root" "$work/root/var/lib/jvirt"
    printf 'jvirt-tiny\n' > "$work/root/etc/hostname"
    printf 'PRETTY_NAME="jvirt tiny filesystem template"\nID=jvirt-tiny\n' > "$work/root/etc/os-release"
    printf 'This filesystem is a jvirt test template.\n' > "$work/root/root/README"
    find "$work/root" -exec touch -h -d @1700000000 {} +
    img="$work/jvirt-tiny-fs.img"
    # fixed UUID, hash seed and times; not byte-reproducible (inode generations differ), so each run gives the file a new checksum
    E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -L jvirt-tiny -U 6a766972-7400-4000-8000-000000000001 \
        -E root_owner=0:0,hash_seed=6a766972-7400-4000-8000-000000000002 -d "$work/root" "$img" 64M
    xz --force --keep --block-size=16MiB -T1 -c "$img" > "$OUT_DIR/jvirt-tiny-fs.img.xz.part"
    mv "$OUT_DIR/jvirt-tiny-fs.img.xz.part" "$OUT_DIR/jvirt-tiny-fs.img.xz"
    stat -c %s "$img" > "$OUT_DIR/.jvirt-tiny-fs.size"
}

# ---------------------------------------------------------------- Debian 12 minbase (minutes, cached)
DEBIAN_PACKAGES="linux-image-amd64,systemd-sysv,udev,qemu-guest-agent,ifupdown,iproute2"
# bump when build_debian changes what ends up in the image: the cache is keyed by this and the package list
DEBIAN_RECIPE=2
debian_stamp() { printf '%s %s\n' "$DEBIAN_PACKAGES" "$DEBIAN_RECIPE" | sha256sum | cut -c1-16; }

build_debian() {
    local stamp cached rootfs mirror
    stamp=$(debian_stamp)
    cached="$CACHE/debian-12-$stamp"
    if [[ ! -s "$cached/debian-12.img" ]]; then
        need debootstrap:debootstrap
        mirror="${JVIRT_DEBIAN_MIRROR:-$(apt_mirror)}"
        rm -rf "$cached.partial"
        mkdir -p "$cached.partial"
        rootfs="$cached.partial/rootfs"
        log "debootstrap --variant=minbase bookworm (this takes minutes)"
        debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" bookworm "$rootfs" "$mirror" >&2
        printf 'debian\n' > "$rootfs/etc/hostname"
        printf '127.0.0.1 localhost\n127.0.1.1 debian\n' > "$rootfs/etc/hosts"
        # by label: the same image works as a bare disk (/dev/vda) and inside a partition (libguestfs, virt-builder)
        printf 'LABEL=root / ext4 defaults 0 1\n' > "$rootfs/etc/fstab"
        printf 'auto lo\niface lo inet loopback\n' > "$rootfs/etc/network/interfaces"
        # the root account stays locked: set a password or a key when building a VM from this template
        cp -L "$rootfs"/boot/vmlinuz-* "$cached.partial/debian-12.vmlinuz"
        cp -L "$rootfs"/boot/initrd.img-* "$cached.partial/debian-12.initrd.img"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        log "mkfs.ext4 -d (no loop mount)"
        mkfs.ext4 -q -F -L root -d "$rootfs" "$cached.partial/debian-12.img" 2G
        rm -rf "$rootfs"
        rm -rf "$cached"
        mv "$cached.partial" "$cached"
    else
        log "Debian 12 template cached in $cached"
    fi
    cp "$cached/debian-12.vmlinuz" "$cached/debian-12.initrd.img" "$OUT_DIR/"
    if [[ ! -s "$OUT_DIR/debian-12.img.xz" || "$cached/debian-12.img" -nt "$OUT_DIR/debian-12.img.xz" ]]; then
        log "xz --block-size=16MiB debian-12.img"
        xz --force --keep --block-size=16MiB -T0 -c "$cached/debian-12.img" > "$OUT_DIR/debian-12.img.xz.part"
        mv "$OUT_DIR/debian-12.img.xz.part" "$OUT_DIR/debian-12.img.xz"
    fi
    stat -c %s "$cached/debian-12.img" > "$OUT_DIR/.debian-12.size"
}

# ---------------------------------------------------------------- index and signature
entry() { # id name osinfo file revision notes aliases
    local id=$1 name=$2 osinfo=$3 file=$4 revision=$5 notes=$6 aliases=$7 size
    size=$(cat "$OUT_DIR/.$id.size")
    printf '[%s]\n' "$id"
    printf 'name=%s\nosinfo=%s\narch=x86_64\nfile=%s\nrevision=%s\n' "$name" "$osinfo" "$file" "$revision"
    printf 'checksum[sha512]=%s\n' "$(sha512sum "$OUT_DIR/$file" | cut -d' ' -f1)"
    printf 'format=raw\nsize=%s\ncompressed_size=%s\n' "$size" "$(stat -c %s "$OUT_DIR/$file")"
    # notes: first line after notes=, later lines start with a space, an empty line is a lone space
    printf '%s\n' "$notes" | awk 'NR == 1 {print "notes=" $0; next} {print " " $0}'
    [[ -n "$aliases" ]] && printf 'aliases=%s\n' "$aliases"
    printf '\n'
}

sign_index() {
    local home="$OUT_DIR/.signing-gnupg" fpr
    if [[ ! -d "$home" ]]; then
        log "creating the project test signing key in $home"
        mkdir -m 700 "$home"
        gpg --batch --homedir "$home" --passphrase '' --quick-gen-key \
            'jvirt project test templates <templates@jvirt.invalid>' ed25519 sign never 2>/dev/null
    fi
    fpr=$(gpg --batch --homedir "$home" --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    gpg --batch --homedir "$home" --armor --export "$fpr" > "$OUT_DIR/jvirt-templates.pub.asc"
    rm -f "$OUT_DIR/index.asc"
    gpg --batch --homedir "$home" --pinentry-mode loopback --passphrase '' --local-user "$fpr" \
        --clearsign --output "$OUT_DIR/index.asc" "$OUT_DIR/index"
    gpgconf --homedir "$home" --kill all 2>/dev/null || true
    printf '%s\n' "$fpr" > "$OUT_DIR/fingerprint"
    log "signed by $fpr"
}

log "tiny filesystem template"
build_tiny
if [[ $WITH_DEBIAN -eq 1 ]]; then
    build_debian
fi
{
    entry jvirt-tiny-fs "jvirt tiny ext4 filesystem (test)" debian12 jvirt-tiny-fs.img.xz 1 \
"A 64 MiB ext4 filesystem with /etc/hostname and /etc/os-release.

It does not boot; it is what jvirt's tests build volumes from." "tiny"
    if [[ $WITH_DEBIAN -eq 1 ]]; then
        entry debian-12 "Debian 12 (bookworm) minbase" debian12 debian-12.img.xz 1 \
"Debian 12 (bookworm), debootstrap --variant=minbase with a kernel, systemd,
udev and qemu-guest-agent, as a bare ext4 root filesystem (no partition table).

Boot it with QEMU direct kernel boot, using the files beside the index:
    -kernel debian-12.vmlinuz -initrd debian-12.initrd.img
    -append \"root=/dev/vda console=ttyS0\"
The root account is locked." "debian bookworm"
    fi
} > "$OUT_DIR/index.part"
# no trailing blank line
sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$OUT_DIR/index.part" > "$OUT_DIR/index"
rm -f "$OUT_DIR/index.part"
sign_index
if command -v virt-index-validate >/dev/null 2>&1; then
    virt-index-validate "$OUT_DIR/index.asc" >&2 && log "virt-index-validate accepts index.asc"
fi
printf '%s\n' "$OUT_DIR"
