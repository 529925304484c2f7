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
exec mvn -B -Djvirt.test.guest="$guest_dir" "$@" test
