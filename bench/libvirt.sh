# Sourced by the bench scripts: a private libvirtd, for measurements side by side with jvirt in the same run.
# libvirt_start WORK   backs up /etc/libvirt/qemu.conf, lets QEMU run as root on files where they are, with no
#                      security driver or namespaces (this sandbox has neither), starts virtlogd and libvirtd;
#                      sets V (the virsh command line) and LIBVIRTD_PID.
# libvirt_stop         destroys and undefines the domains named in LIBVIRT_DOMAINS, ends both daemons by PID and
#                      restores qemu.conf. Safe to call twice, and when libvirt_start never ran.
LIBVIRT_DOMAINS=()
_libvirt_pids=()
_libvirt_conf_backup=""

libvirt_start() {
    apt_install libvirt-daemon-system libvirt-clients
    if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
        die "a libvirt daemon is already running (not ours); stop it first so both are measured alike"
    fi
    _libvirt_conf_backup="$1/qemu.conf.orig"
    cp /etc/libvirt/qemu.conf "$_libvirt_conf_backup"
    printf '%s\n' 'user = "root"' 'group = "root"' 'dynamic_ownership = 0' 'security_driver = "none"' \
        'namespaces = [ ]' 'stdio_handler = "file"' >>/etc/libvirt/qemu.conf
    virtlogd -d; _libvirt_pids+=("$(pgrep -n -x virtlogd)")
    libvirtd -d
    for _ in $(seq 1 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
    LIBVIRTD_PID=$(pgrep -n -x libvirtd)
    _libvirt_pids=("$LIBVIRTD_PID" "${_libvirt_pids[@]}")
    V="virsh -q -c qemu:///system"
}

libvirt_stop() {
    local d p
    if [ ${#_libvirt_pids[@]} -gt 0 ]; then
        for d in "${LIBVIRT_DOMAINS[@]}"; do
            virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
            virsh -q -c qemu:///system undefine "$d" --snapshots-metadata >/dev/null 2>&1 || true
        done
        for p in "${_libvirt_pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${_libvirt_pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
        _libvirt_pids=()
    fi
    if [ -n "$_libvirt_conf_backup" ]; then
        cp "$_libvirt_conf_backup" /etc/libvirt/qemu.conf
        _libvirt_conf_backup=""
    fi
}
