#!/usr/bin/env bash
# Creates target/jvirt-cli.aot, an AOT cache (JEP 483/514, JDK 25) for the jvirt CLI, from training runs.
#
#   scripts/train-cli-aot.sh [SOCKET [TLS_URL TLS_DIR]]
#
# The training runs (io.jvirt.cli.AotTraining, one JVM) are `--help`, `list`, `list -o json`, `info VM`,
# `__complete vms` (what shell completion calls) and a usage error, against SOCKET (a running jvirtd) or, without one,
# a missing socket (the error path); and `list` over mutual TLS (`--connect TLS_URL --tls-dir TLS_DIR`, or a call
# that fails before connecting). bin/jvirt uses the cache when it exists and Java is >= 25.
# Rebuild the cache after every rebuild of target/jvirt.jar (the JVM ignores a cache made for another jar).
set -euo pipefail

home=$(dirname -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")")
jar="$home/target/jvirt.jar"
aot="$home/target/jvirt-cli.aot"
[[ -f $jar ]] || { echo "train-cli-aot: $jar missing; run 'mvn -DskipTests package' first" >&2; exit 1; }

java=""
for j in "${JAVA_HOME:-}/bin/java" /usr/lib/jvm/*25*/bin/java /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [[ -x $j ]] || continue
    v=$("$j" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n1)
    if [[ -n $v ]] && (( v >= 25 )); then java=$j; break; fi
done
[[ -n $java ]] || { echo "train-cli-aot: needs a JDK 25 or newer (set JAVA_HOME)" >&2; exit 1; }

socket=${1:-}
tls=()
[[ -n ${2:-} && -n ${3:-} ]] && tls=(--connect "$2" --tls-dir "$3")
if [[ -z $socket ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf -- "$tmp"' EXIT
    socket="$tmp/missing.sock"
fi

# One JVM runs all training invocations, so one AOTCacheOutput run records them all.
opts=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
rm -f -- "$aot"
"$java" "${opts[@]}" -XX:AOTCacheOutput="$aot" -Xlog:aot=warning -Xlog:cds=warning \
    -cp "$jar" io.jvirt.cli.AotTraining --socket "$socket" "${tls[@]}" >/dev/null
ls -l -- "$aot"
