#!/usr/bin/env bash
# Issue 12's benchmarks, on demand (not a test), numbers in bench/README.md:
#   - GET /v1/host p50/p99 on one persistent connection: mutual TLS vs the Unix socket (bench/TrustBench.java)
#   - a new connection and its first request (TLS 1.3 set-up with client certificate) vs the Unix socket
#   - one-shot `jvirt --connect tls://... list` vs `jvirt --socket ... list` wall time (bin/jvirt, as users run it)
#   - start latency of a confined daemon (per-VM uid, ACL grants, setpriv, -sandbox) vs one with --no-confine
#   - side by side, `virsh -c qemu+tls://localhost:PORT/system list` against a private libvirtd (its own
#     libvirtd.conf, sockets and pid file under the temp dir, the same certificates, no system file changed)
#
#   bench/trust.sh [--runs N]
#
# Everything it starts is ended by PID; results go to stdout and bench/results/trust-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs=15
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

install_deps
build_jar
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
[ -f "$guest/vmlinux" ] || bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest" >/dev/null
jar="$JVIRT_ROOT/target/jvirt.jar"
jvirt="$JVIRT_ROOT/bin/jvirt"

work=$(mktemp -d /tmp/jvirt-trust-bench.XXXXXX)
pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    rm -rf "$work"
}
trap cleanup EXIT
out="$JVIRT_ROOT/bench/results/trust-$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p "$(dirname "$out")"
say() { echo "$*" | tee -a "$out"; }

ca="$work/ca"; client="$work/alice"
"$jvirt" pki init --dir "$ca" >/dev/null
"$jvirt" pki issue-server --dir "$ca" localhost 127.0.0.1 >/dev/null
"$jvirt" pki issue-client --dir "$ca" alice --out "$client" >/dev/null
port=$((20000 + RANDOM % 20000))

start_daemon() { # NAME EXTRA_ARGS...
    local name=$1; shift
    mkdir -p "$work/$name/state"
    [ -f "$guest/accel-probe.json" ] && cp "$guest/accel-probe.json" "$work/$name/state/accel-probe.json"
    "$JVIRT_ROOT/bin/jvirtd" --state-dir "$work/$name/state" --run-dir "$work/$name/run" --no-default-network \
        --accel tcg --allow-dir "$guest" --allow-dir "$work" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do grep -q "jvirtd ready" "$work/$name.log" && return 0; sleep 0.1; done
    cat "$work/$name.log" >&2; die "jvirtd $name did not start"
}
start_daemon confined --listen "tls://127.0.0.1:$port" --tls-dir "$ca"
start_daemon plain --no-confine
sock="$work/confined/run/jvirtd.sock"
say "# bench/trust.sh $(date -u +%FT%TZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# $(grep -o 'QEMU runs[^\"]*' "$work/confined.log" | head -1)"

mkdir -p "$work/disks"
java -cp "$jar" "$JVIRT_ROOT/bench/TrustBench.java" "$sock" "tls://127.0.0.1:$port" "$client" \
    "$work/plain/run/jvirtd.sock" "$guest" "$work/disks" "$runs" | tee -a "$out"

# what confinement adds inside the daemon (ConfinedStart logs each start's preparation: chains, uid, grants)
prep() { grep -o "QEMU launch prepared in [0-9]* us" "$work/$1.log" | awk '{print $5}' | sort -n \
    | awk '{a[NR]=$1} END {if (NR) printf "%.1f", a[int((NR+1)/2)]/1000; else printf "-"}'; }
say "launch_prepare_confined p50_ms $(prep confined) (chains + per-VM uid + ACL grants, one ledger write)"
say "launch_prepare_unconfined p50_ms $(prep plain) (chains only)"

# one-shot CLI: bin/jvirt with its AOT cache trained on both paths (JDK >= 25), median wall time of 21 runs each
"$JVIRT_ROOT/scripts/train-cli-aot.sh" "$sock" "tls://127.0.0.1:$port" "$client" >/dev/null 2>&1 \
    || say "# AOT cache not trained (needs JDK 25): one-shot times are without it"
oneshot() { # LABEL ARGS...
    local label=$1; shift
    local t=()
    for _ in $(seq 1 21); do
        local t0 t1
        t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
        t+=($(( (t1 - t0) / 1000000 )))
    done
    say "$label median_ms $(printf '%s\n' "${t[@]}" | sort -n | sed -n 11p)"
}
oneshot "oneshot_jvirt_unix_list" "$jvirt" --socket "$sock" list
oneshot "oneshot_jvirt_tls_list" "$jvirt" --connect "tls://127.0.0.1:$port" --tls-dir "$client" list

# libvirt over TLS, with the same certificates, in a private libvirtd (no system file is changed)
if command -v libvirtd >/dev/null && command -v virsh >/dev/null; then
    if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
        say "libvirt: skipped, a libvirt daemon (not ours) is already running"
    else
        lv="$work/libvirt"; pki="$lv/pki"; mkdir -p "$lv/sock" "$pki"
        cp "$ca/ca.pem" "$pki/cacert.pem"
        cp "$ca/server.pem" "$pki/servercert.pem"; cp "$ca/server-key.pem" "$pki/serverkey.pem"
        cp "$client/client.pem" "$pki/clientcert.pem"; cp "$client/client-key.pem" "$pki/clientkey.pem"
        lport=$((port + 1))
        cat >"$lv/libvirtd.conf" <<EOF
listen_tls = 1
listen_tcp = 0
tls_port = "$lport"
listen_addr = "127.0.0.1"
key_file = "$pki/serverkey.pem"
cert_file = "$pki/servercert.pem"
ca_file = "$pki/cacert.pem"
unix_sock_dir = "$lv/sock"
auth_tls = "none"
EOF
        libvirtd -f "$lv/libvirtd.conf" -p "$lv/libvirtd.pid" --listen >"$lv/libvirtd.log" 2>&1 &
        pids+=($!)
        vurl="qemu+tls://localhost:$lport/system?pkipath=$pki"
        ok=""
        for _ in $(seq 1 100); do virsh -q -c "$vurl" list >/dev/null 2>&1 && { ok=1; break; }; sleep 0.2; done
        if [ -n "$ok" ]; then
            oneshot "oneshot_virsh_tls_list" virsh -q -c "$vurl" list
            oneshot "oneshot_virsh_unix_list" virsh -q -c "qemu:///system?socket=$lv/sock/libvirt-sock" list
        else
            say "libvirt: its TLS listener did not answer: $(tail -3 "$lv/libvirtd.log" | tr '\n' ' ')"
        fi
    fi
fi
say "# results in $out"
