package io.jvirt.confine;

import io.jvirt.testing.Command;
import java.util.ArrayList;
import java.util.List;

/** The jvirt-qemu user for tests (created if absent, as scripts/lib.sh does; it stays) and running things as it. */
final class QemuUserFixture {
    private QemuUserFixture() {
    }

    static synchronized QemuUser ensure() {
        if (QemuUser.lookup(QemuUser.DEFAULT_NAME).isEmpty()) {
            Command.run(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", QemuUser.DEFAULT_NAME))
                    .requireSuccess(List.of("useradd"));
        }
        return QemuUser.lookup(QemuUser.DEFAULT_NAME).orElseThrow();
    }

    /** Runs {@code sh -c script} as the user (its own group only): exit status 0 means it could. */
    static Command.Result asUser(QemuUser user, String script) {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + user.uid(), "--regid=" + user.gid(),
                "--clear-groups", "--", "sh", "-c", script));
        return Command.run(cmd, 20);
    }

    static boolean can(QemuUser user, String script) {
        return asUser(user, script).exit() == 0;
    }
}
