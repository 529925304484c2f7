#!/usr/bin/env bash
# Runs jvirt's whole test suite on real QEMU: installs what is missing, builds the tiny test guest once
# (cached), then runs every test with Maven. Extra arguments go to Maven (e.g. -Dtest=LifecycleApiTest).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

install_deps
guest_dir="${JVIRT_GUEST_DIR:-$HOME/.cache/jvirt/guest}"
bash "$JVIRT_ROOT/scripts/build-tiny-guest.sh" "$guest_dir" >/dev/null
# the Debian template repository (minutes the first time, then cached); its boot test is skipped without it
if [ "${JVIRT_SKIP_TEMPLATES:-0}" != 1 ]; then
    bash "$JVIRT_ROOT/scripts/build-templates.sh" "${JVIRT_TEMPLATE_REPO:-$HOME/.cache/jvirt/template-repo}" >/dev/null \
        || log "building the template repository failed: the Debian template tests will be skipped"
fi
log "running the test suite (guest: $guest_dir, java: $JAVA_HOME)"
cd "$JVIRT_ROOT"
mvn -B -Djvirt.test.guest="$guest_dir" "$@" test
[ $# -gt 0 ] && exit 0   # a selection of tests (e.g. -Dtest=...): no smoke run
# The README's first command, end to end, in a directory of its own: it once broke (the path policy refused the
# guest under $HOME) while every test passed, because tests start the daemon their own way.
log "smoke run of scripts/demo.sh"
demo=$(mktemp -d /tmp/jvirt-demo-smoke.XXXXXX)
smoke_end() { JVIRT_DEMO_DIR="$demo" bash "$JVIRT_ROOT/scripts/demo.sh" stop >/dev/null 2>&1 || true; rm -rf "$demo"; }
trap smoke_end EXIT
JVIRT_DEMO_DIR="$demo" bash "$JVIRT_ROOT/scripts/demo.sh" >"$demo.log" 2>&1 || { cat "$demo.log" >&2; rm -f "$demo.log"; die "scripts/demo.sh failed"; }
grep -q "The VM runs" "$demo.log" || { cat "$demo.log" >&2; rm -f "$demo.log"; die "scripts/demo.sh did not get the VM running"; }
rm -f "$demo.log"
log "scripts/demo.sh: the demo VM ran"
