#!/usr/bin/env bash
# Live migration benchmark (on demand, not a test): an idle 256 MiB tiny guest over a veth link between two network
# namespaces, jvirt migrate (peer to peer, TLS) vs two QEMUs migrated by hand with raw QMP, with and without TLS,
# in the same run (io.jvirt.migration.MigrationBenchmark). Usage: bench/migration.sh [--runs N]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
runs=5
[ "${1:-}" = "--runs" ] && runs="$2"
guest="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
find_jdk
cd "$JVIRT_ROOT"
mvn -q -B -o -Djvirt.test.guest="$guest" -Dbench.runs="$runs" -Dtest=MigrationBenchmark \
    -Dsurefire.failIfNoSpecifiedTests=false test
