#!/usr/bin/env bash
# Shared helpers for jvirt's scripts: find a JDK >= 21, install Debian packages that are missing.
# Sourced, not run.

JVIRT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# java_major PATH_TO_JAVA -> prints the feature version (17, 21, 25...). Read from the JDK's `release` file when it
# has one: starting a JVM per candidate cost bin/jvirtd ~200 ms of every daemon start (issue 13's restart budget).
java_major() {
    local release
    release="$(dirname "$(dirname "$1")")/release"
    if [ -f "$release" ]; then
        sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release" | head -n1
        return 0
    fi
    "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

# find_jdk: sets JAVA_HOME to a JDK >= 21 (JAVA_HOME if good, else the newest under /usr/lib/jvm, else PATH).
find_jdk() {
    local candidates=() c best="" best_v=0 v
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    for c in /usr/lib/jvm/*; do [ -x "$c/bin/javac" ] && candidates+=("$c"); done
    if command -v javac >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
    fi
    for c in "${candidates[@]}"; do
        [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
        v=$(java_major "$c/bin/java")
        v=${v%%.*}
        if [ -n "$v" ] && [ "$v" -ge 21 ] && [ "$v" -gt "$best_v" ]; then best="$c"; best_v="$v"; fi
    done
    if [ -z "$best" ]; then
        log "no JDK >= 21 found; trying Debian's openjdk-21"
        apt_install openjdk-21-jdk-headless || true
        for c in /usr/lib/jvm/*21*; do [ -x "$c/bin/javac" ] && best="$c"; done
    fi
    [ -n "$best" ] || die "jvirt needs a JDK >= 21 (none under /usr/lib/jvm, in JAVA_HOME or on PATH, and Debian 12 ships only 17): install one (e.g. Temurin 21 or 25) and set JAVA_HOME"
    export JAVA_HOME="$best"
    export PATH="$JAVA_HOME/bin:$PATH"
}

# apt_install PKG...: installs the packages that are not installed yet (needs root or sudo).
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing ${missing[*]}"
    if [ ! -f /var/lib/jvirt-apt-updated ] || [ -n "$(find /var/lib/apt/lists -maxdepth 0 -mmin +1440 2>/dev/null)" ]; then
        $sudo apt-get update -q >&2 && $sudo touch /var/lib/jvirt-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# Post-copy migration: QEMU runs without capabilities, and 7.2 opens userfaultfd(2) only if unprivileged users may
# (libvirt ships the same setting, src/qemu/postcopy-migration.sysctl).
enable_postcopy() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    [ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" = 1 ] && return 0
    log "allowing unprivileged userfaultfd (post-copy migration)"
    echo "vm.unprivileged_userfaultfd = 1" | $sudo tee /etc/sysctl.d/60-jvirt-postcopy.conf >/dev/null
    $sudo sysctl -q -w vm.unprivileged_userfaultfd=1
}

# Everything jvirt needs at build, test and run time.
install_deps() {
    enable_postcopy
    apt_install qemu-system-x86 qemu-utils maven busybox-static xz-utils cpio curl util-linux
    # images: gpg verifies template indexes, e2fsprogs customizes them; libguestfs-tools (virt-builder,
    # virt-customize, virt-index-validate) is optional: the tests that need it are skipped without it
    apt_install gnupg e2fsprogs fdisk openssl
    # networks: bridges and taps (iproute2), DHCP/DNS per network (dnsmasq-base), NAT rules (nftables), kill -HUP (procps)
    apt_install iproute2 dnsmasq-base nftables procps
    # confinement (docs/security.md): each VM's QEMU runs as a numeric uid of its own (setpriv: util-linux; no
    # passwd entries), granted its VM's files by POSIX ACL entries (acl: getfacl/setfacl); the jvirt-qemu user
    # is what io.jvirt.confine's own tests run QEMU as
    apt_install acl
    # tests connect to Unix sockets as another user (FileModesTest) and check the tiny guest by hand: socat
    apt_install socat
    # stats: /metrics is checked with the official Prometheus client's text parser (python3-prometheus-client)
    apt_install python3-prometheus-client
    ensure_qemu_user
    (apt_install libguestfs-tools) || log "libguestfs-tools not installed: virt-builder compatibility tests will be skipped"
    # shell completion: bash-completion loads jvirt's on first use; the zsh case of CompletionTest needs zsh
    (apt_install bash-completion zsh) || log "bash-completion/zsh not installed: source the completion script by hand; the zsh completion test will be skipped"
    find_jdk
}

# install_completion: writes jvirt's bash and zsh completion (`jvirt completion bash|zsh`, generated from its command
# tree; VM, snapshot, volume and pool names come from the daemon when completing) where the shells find it:
# bash-completion's per-user directory, which it loads the first time `jvirt` is completed, and a file for zsh to
# source. Prints what to add to the shell's rc file when that is needed.
install_completion() {
    local data="${XDG_DATA_HOME:-$HOME/.local/share}"
    local bash_file="${BASH_COMPLETION_USER_DIR:-$data/bash-completion}/completions/jvirt"
    local zsh_file="$data/jvirt/completion.zsh"
    mkdir -p "$(dirname "$bash_file")" "$(dirname "$zsh_file")"
    "$JVIRT_ROOT/bin/jvirt" completion bash >"$bash_file.$$" && mv -f "$bash_file.$$" "$bash_file"
    "$JVIRT_ROOT/bin/jvirt" completion zsh >"$zsh_file.$$" && mv -f "$zsh_file.$$" "$zsh_file"
    log "shell completion installed: $bash_file (bash-completion loads it; without bash-completion: source it in" \
        "~/.bashrc), $zsh_file (zsh: add 'source $zsh_file' to ~/.zshrc)"
}

# ensure_qemu_user: the unprivileged system user QEMU runs as (no home, no login shell).
ensure_qemu_user() {
    getent passwd jvirt-qemu >/dev/null && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "creating the system user jvirt-qemu (QEMU runs as it)"
    $sudo useradd --system --no-create-home --shell /usr/sbin/nologin jvirt-qemu
}

# build_jar: compiles and packages target/jvirt.jar unless it is newer than every source file.
build_jar() {
    local jar="$JVIRT_ROOT/target/jvirt.jar"
    if [ ! -f "$jar" ] || [ -n "$(find "$JVIRT_ROOT/src/main" "$JVIRT_ROOT/pom.xml" -newer "$jar" -print -quit)" ]; then
        log "building jvirt ($(java_major "$JAVA_HOME/bin/java"))"
        (cd "$JVIRT_ROOT" && mvn -q -B -DskipTests package) >&2
    fi
    bash "$JVIRT_ROOT/scripts/train-daemon-aot.sh" >&2
}

# daemon_jar_copy: prints the private copy of target/jvirt.jar that bin/jvirtd runs, made if missing (keyed by the
# jar's size and time: a rebuild under a running daemon would otherwise change classes it has not loaded yet).
daemon_jar_copy() {
    local jar="$JVIRT_ROOT/target/jvirt.jar"
    local copies="${XDG_CACHE_HOME:-$HOME/.cache}/jvirt/daemon-jars"
    local copy
    copy="$copies/jvirt-$(stat -c '%s-%Y' "$jar").jar"
    if [ ! -f "$copy" ]; then
        mkdir -p "$copies"
        find "$copies" -name 'jvirt-*' -mtime +7 -delete 2>/dev/null || true
        cp "$jar" "$copy.$$" && mv -f "$copy.$$" "$copy"
    fi
    echo "$copy"
}

# daemon_aot_cache COPY: the AOT cache (JEP 483/514) bin/jvirtd uses for that jar copy and this JDK
daemon_aot_cache() {
    echo "$1.$(basename "$(readlink -f "$JAVA_HOME")").aot"
}
