#!/usr/bin/env bash
# One-shot CLI cost, on demand (not a test): classes loaded and wall time of `jvirt list`, `jvirt info VM` and
# `jvirt __complete vms` (what shell completion runs) against a running jvirtd, with and without the AOT cache;
# with --baseline REV the same for the CLI of git revision REV, measured in the same run, runs interleaved; and
# `virsh list` through libvirt's in-process test driver when virsh is installed (no daemon round trip: a lower
# bound for virsh against libvirtd, so the ratio is on the safe side).
#
#   bench/cli-oneshot.sh [--baseline REV] [--runs N]
#
# Everything it starts (jvirtd) is ended by PID; results go to stdout and bench/results/cli-oneshot-<date>.txt.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

baseline=""
runs=21
while [ $# -gt 0 ]; do
    case "$1" in
        --baseline) baseline="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

install_deps
build_jar
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest" >/dev/null

work=$(mktemp -d /tmp/jvirt-cli-bench.XXXXXX)
jpid=""
cleanup() {
    set +e
    if [ -n "$jpid" ]; then kill "$jpid" 2>/dev/null; while kill -0 "$jpid" 2>/dev/null; do sleep 0.1; done; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A tree per CLI measured: bin/jvirt, its jar and AOT cache (bin/jvirt finds both relative to itself).
tree() { # tree NAME SOURCE_ROOT
    mkdir -p "$work/$1/bin" "$work/$1/target" "$work/$1/scripts"
    cp "$2/bin/jvirt" "$work/$1/bin/" && cp "$2/target/jvirt.jar" "$work/$1/target/"
    cp "$2/scripts/train-cli-aot.sh" "$work/$1/scripts/"
}
tree new "$JVIRT_ROOT"
trees=(new)
if [ -n "$baseline" ]; then
    log "building the CLI of $baseline"
    mkdir -p "$work/src-base"
    git -C "$JVIRT_ROOT" archive "$baseline" | tar -x -C "$work/src-base"
    (cd "$work/src-base" && mvn -q -B -DskipTests package) >&2
    tree base "$work/src-base"
    trees=(new base)
fi

state="$work/state"; run="$work/run"; sock="$run/jvirtd.sock"
mkdir -p "$state"
[ -f "$guest/accel-probe.json" ] && cp "$guest/accel-probe.json" "$state/accel-probe.json"
"$JVIRT_ROOT/bin/jvirtd" --state-dir "$state" --run-dir "$run" --no-default-network --allow-dir "$guest" >"$work/jvirtd.log" 2>&1 &
jpid=$!
for _ in $(seq 1 300); do grep -q "jvirtd ready" "$work/jvirtd.log" 2>/dev/null && break; sleep 0.1; done
grep -q "jvirtd ready" "$work/jvirtd.log" || { cat "$work/jvirtd.log"; die "jvirtd did not start"; }
for vm in alpha beta demo; do
    echo "{\"name\":\"$vm\",\"memoryMiB\":128,\"vcpus\":1,\"boot\":{\"kernel\":\"$guest/vmlinux\",\"initrd\":\"$guest/initrd.img\"}}" \
        | "$work/new/bin/jvirt" --socket "$sock" define - >/dev/null
done

java="$JAVA_HOME/bin/java"
aot_ok=0
[ "$(java_major "$java")" -ge 25 ] && aot_ok=1
for t in "${trees[@]}"; do
    [ "$aot_ok" = 1 ] && "$work/$t/scripts/train-cli-aot.sh" "$sock" >/dev/null 2>&1
done

# classes TREE AOT(0|1) ARGS...: "total/not-from-the-archive" classes one run loads (the flags of bin/jvirt)
classes() {
    local t=$1 aot=$2; shift 2
    local opts=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC) log="$work/classes.log"
    if [ "$aot" = 1 ]; then opts+=("-XX:AOTCache=$work/$t/target/jvirt-cli.aot"); else opts+=(-Xshare:auto); fi
    "$java" "${opts[@]}" -Xlog:class+load=info:file="$log" -jar "$work/$t/target/jvirt.jar" --socket "$sock" "$@" \
        >/dev/null 2>&1 || true
    echo "$(grep -c 'source:' "$log")/$(grep -vc 'source: shared' "$log")"
}
declare -A R
for t in "${trees[@]}"; do
    for q in list info __complete; do
        case $q in info) args=(info demo) ;; __complete) args=(__complete vms) ;; *) args=(list) ;; esac
        if [ "$q" = __complete ] && ! "$work/$t/bin/jvirt" --socket "$sock" __complete vms >/dev/null 2>&1; then
            continue # a CLI from before completion
        fi
        R[$t.$q.noaot]=$(classes "$t" 0 "${args[@]}")
        [ "$aot_ok" = 1 ] && R[$t.$q.aot]=$(classes "$t" 1 "${args[@]}")
    done
done

# Wall times: each command once per round, the trees (and virsh) in turn, $runs rounds; medians in ms.
declare -A T
have_virsh=0
command -v virsh >/dev/null 2>&1 && virsh -q -c test:///default list --all >/dev/null 2>&1 && have_virsh=1
ms() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - t0) / 100000 )); }
log "wall time, $runs rounds"
for ((i = 0; i < runs; i++)); do
    for t in "${trees[@]}"; do
        T[$t.list]+="$(ms "$work/$t/bin/jvirt" --socket "$sock" list) "
        T[$t.info]+="$(ms "$work/$t/bin/jvirt" --socket "$sock" info demo) "
        [ -n "${R[$t.__complete.noaot]:-}" ] && T[$t.__complete]+="$(ms "$work/$t/bin/jvirt" --socket "$sock" __complete vms) "
    done
    [ "$have_virsh" = 1 ] && T[virsh]+="$(ms virsh -q -c test:///default list --all) "
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.1f", a[int((NR+1)/2)]/10; else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

mkdir -p "$JVIRT_ROOT/bench/results"
out="$JVIRT_ROOT/bench/results/cli-oneshot-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "jvirt one-shot CLI, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, java $(java_major "$java"), rounds=$runs"
    echo "classes loaded: total/not from the AOT cache (with AOT), total/not from the JDK's CDS archive (no AOT)"
    printf '%-12s %-6s %16s %16s %12s %10s\n' command cli "classes (AOT)" "classes (no AOT)" "wall ms" "/ virsh"
    vl=$( [ "$have_virsh" = 1 ] && median "${T[virsh]}" || echo - )
    for q in list info __complete; do
        for t in "${trees[@]}"; do
            [ -n "${R[$t.$q.noaot]:-}" ] || continue
            w=$(median "${T[$t.$q]}")
            printf '%-12s %-6s %16s %16s %12s %10s\n' "$q" "$t" "${R[$t.$q.aot]:--}" "${R[$t.$q.noaot]}" "$w" "$(ratio "$w" "$vl")"
        done
    done
    [ "$have_virsh" = 1 ] && printf '%-12s %-6s %16s %16s %12s\n' "virsh list" "test:///default" "" "" "$vl"
} | tee "$out"
log "saved to $out"
