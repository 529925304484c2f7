package io.jvirt.confine;

import static io.jvirt.confine.QemuUserFixture.can;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.files.FileModes;
import io.jvirt.testing.Command;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real files, the real jvirt-qemu user, checked with stat, getfacl and by trying as that user. */
class AccessLedgerTest {
    @TempDir
    Path tmp;
    private QemuUser user;
    private Path ledgerDir;
    private Path vmDir;
    private Path disk;
    private Path base;
    private Path log;
    private Path runDir;
    private Path secret;

    @BeforeEach
    void setUp() throws Exception {
        user = QemuUserFixture.ensure();
        FileModes.createDirectories(tmp.resolve("state"), 0700); // the daemon's state directory
        ledgerDir = tmp.resolve("state/labels");
        vmDir = Files.createDirectories(tmp.resolve("state/pools/default")); // under the 0700 temp dir
        disk = file(vmDir.resolve("web.qcow2"), 0640);
        base = file(vmDir.resolve("base.qcow2"), 0644);
        log = file(Files.createDirectories(tmp.resolve("state/owners/web")).resolve("console.log"), 0600);
        runDir = FileModes.createDirectories(tmp.resolve("run/web"), 0700);
        secret = file(vmDir.resolve("other-vm.qcow2"), 0600);
    }

    private static Path file(Path p, int mode) throws Exception {
        Files.writeString(p, "data\n");
        FileModes.setMode(p, mode);
        return p;
    }

    private List<Grant> webGrants() {
        ImageChain chain = new ImageChain(List.of(new ImageChain.Layer(disk, "qcow2", 1), new ImageChain.Layer(base, "qcow2", 1)));
        return new AccessPlan(user).disk(chain, false).write(log).writeDir(runDir).grants();
    }

    /** What stat and getfacl say about every file and directory of the test. */
    private Map<Path, String> snapshot() throws Exception {
        Map<Path, String> out = new LinkedHashMap<>();
        List<Path> all = new ArrayList<>();
        try (var s = Files.walk(tmp)) {
            s.filter(p -> !p.startsWith(ledgerDir)).forEach(all::add);
        }
        for (Path p = tmp.getParent(); p != null; p = p.getParent()) {
            all.add(p);
        }
        for (Path p : all) {
            out.put(p, Command.ok("stat", "-c", "%u:%g %a", p.toString()).strip() + " "
                    + Command.ok("getfacl", "-cpn", p.toString()).strip().replace("\n", ","));
        }
        return out;
    }

    @Test
    void qemusUserGetsExactlyItsFilesAndEverythingComesBack() throws Exception {
        Map<Path, String> before = snapshot();
        assertThat(can(user, "cat " + disk)).isFalse();
        AccessLedger ledger = new AccessLedger(ledgerDir);
        ledger.grant("web", user, webGrants());

        assertThat(can(user, "cat " + disk + " && echo more >> " + disk)).isTrue();
        assertThat(can(user, "cat " + base)).isTrue();
        assertThat(can(user, "echo x >> " + base)).isFalse();
        assertThat(can(user, "echo typed >> " + log)).isTrue();
        assertThat(can(user, "touch " + runDir.resolve("qmp.sock"))).isTrue();
        assertThat(can(user, "cat " + secret)).isFalse();
        assertThat(can(user, "ls " + tmp.resolve("state"))).isFalse(); // search, no listing
        assertThat(can(user, "cat " + tmp.resolve("state/owners/web/console.log"))).isTrue();
        // owner and group untouched while held, and the group's own entry too: only an ACL entry was added (stat's
        // group bits now show the ACL mask, rw-, which limits named entries; the group itself keeps r--)
        assertThat(Command.ok("stat", "-c", "%u:%g", disk.toString()).strip()).isEqualTo("0:0");
        assertThat(Command.ok("getfacl", "-cpn", disk.toString()))
                .contains("user:" + user.uid() + ":rw-", "group::r--", "other::---");
        assertThat(FileModes.modeOf(ledgerDir)).isEqualTo(0700);
        assertThat(Files.readString(ledgerDir.resolve("ledger.json"))).contains(disk.toString(), "\"web\"");

        Files.delete(runDir.resolve("qmp.sock"));
        assertThat(ledger.release("web")).isEmpty();
        assertThat(can(user, "cat " + disk)).isFalse();
        assertThat(snapshot()).isEqualTo(before);
        assertThat(Files.readString(ledgerDir.resolve("ledger.json"))).doesNotContain(disk.toString());
    }

    @Test
    void aSharedBaseStaysReadableUntilItsLastHolderLeaves() throws Exception {
        Map<Path, String> before = snapshot();
        Path db = file(vmDir.resolve("db.qcow2"), 0640);
        AccessLedger ledger = new AccessLedger(ledgerDir);
        ledger.grant("web", user, webGrants());
        ImageChain dbChain = new ImageChain(List.of(new ImageChain.Layer(db, "qcow2", 1), new ImageChain.Layer(base, "qcow2", 1)));
        ledger.grant("db", user, new AccessPlan(user).disk(dbChain, false).grants());
        assertThat(ledger.holdings().get("db")).contains(base, db);

        assertThat(ledger.release("web")).isEmpty();
        assertThat(can(user, "cat " + base + " " + db)).isTrue();
        assertThat(can(user, "cat " + disk)).isFalse();
        assertThat(ledger.release("db")).isEmpty();
        assertThat(can(user, "cat " + base)).isFalse();
        Files.delete(db);
        assertThat(snapshot()).isEqualTo(before);
    }

    @Test
    void afterAKill9TheNextDaemonPutsEveryOwnerBack() throws Exception {
        Map<Path, String> before = snapshot();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                LedgerCrashChild.class.getName(), ledgerDir.toString(), disk.toString(), base.toString(), log.toString(), runDir.toString()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
            assertThat(out.readLine()).isEqualTo("granted");
            assertThat(can(user, "cat " + disk)).isTrue();
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no release
            assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(child.exitValue()).isEqualTo(137);
        assertThat(can(user, "cat " + disk)).isTrue(); // still labelled: nobody gave it back

        AccessLedger next = new AccessLedger(ledgerDir);
        assertThat(next.holdings()).containsKey("web");
        assertThat(next.reconcile(Set.of())).isEmpty();
        assertThat(can(user, "cat " + disk)).isFalse();
        assertThat(snapshot()).isEqualTo(before);
        assertThat(new AccessLedger(ledgerDir).restoreAll()).isEmpty(); // idempotent
        assertThat(snapshot()).isEqualTo(before);
    }

    @Test
    void aCrashBetweenRecordAndChangeIsHarmless() throws Exception {
        Map<Path, String> before = snapshot();
        new AccessLedger(ledgerDir).grant("web", user, webGrants());
        // as if the daemon died after writing the ledger but before setfacl: the entries are not there
        Command.ok("setfacl", "-b", disk.toString(), base.toString());
        AccessLedger next = new AccessLedger(ledgerDir);
        next.restoreAll();
        assertThat(snapshot()).isEqualTo(before);
    }

    @Test
    void reconcileKeepsTheVmsStillRunning() throws Exception {
        Path db = file(vmDir.resolve("db.raw"), 0640);
        AccessLedger ledger = new AccessLedger(ledgerDir);
        ledger.grant("web", user, webGrants());
        ledger.grant("db", user, new AccessPlan(user).write(db).grants());
        assertThat(new AccessLedger(ledgerDir).reconcile(Set.of("db"))).isEmpty();
        assertThat(can(user, "cat " + db)).isTrue();
        assertThat(can(user, "cat " + disk)).isFalse();
        new AccessLedger(ledgerDir).restoreAll();
        assertThat(can(user, "cat " + db)).isFalse();
    }

    @Test
    void changesBySomeoneElseAreReportedAndKept() throws Exception {
        AccessLedger ledger = new AccessLedger(ledgerDir);
        ledger.grant("web", user, webGrants());
        FileModes.setMode(disk, 0604);
        Command.ok("chown", "1:1", log.toString());
        List<String> report = ledger.release("web");
        assertThat(report).anySatisfy(r -> assertThat(r).startsWith(disk + ": changed by someone else").contains("mode 0640 -> 0604"));
        assertThat(report).anySatisfy(r -> assertThat(r).startsWith(log + ":").contains("owner 0:0 -> 1:1"));
        assertThat(FileModes.modeOf(disk)).isEqualTo(0604); // kept, not clobbered
        assertThat(Command.ok("getfacl", "-cpn", disk.toString())).doesNotContain("user:" + user.uid());
        assertThat(can(user, "echo x >> " + disk)).isFalse();
    }

    @Test
    void anEntryTheAdminHadGivenIsPutBackAndARestrictiveMaskIsRefused() throws Exception {
        Command.ok("setfacl", "-m", "u:" + user.uid() + ":r--", base.toString());
        String adminAcl = Command.ok("getfacl", "-cpn", base.toString());
        AccessLedger ledger = new AccessLedger(ledgerDir);
        ledger.grant("web", user, List.of(new Grant(base, Grant.Access.WRITE)));
        assertThat(Command.ok("getfacl", "-cpn", base.toString())).contains("user:" + user.uid() + ":rw-");
        assertThat(ledger.release("web")).isEmpty();
        assertThat(Command.ok("getfacl", "-cpn", base.toString())).isEqualTo(adminAcl);

        Command.ok("setfacl", "-m", "u:1234:rw-", disk.toString());
        Command.ok("setfacl", "-n", "-m", "m::r--", disk.toString());
        String masked = Command.ok("getfacl", "-cpn", disk.toString());
        assertThatThrownBy(() -> ledger.grant("web", user, List.of(new Grant(disk, Grant.Access.WRITE))))
                .isInstanceOf(LabelException.class).hasMessageContaining("mask");
        assertThat(Command.ok("getfacl", "-cpn", disk.toString())).isEqualTo(masked);
        assertThat(ledger.holdings()).isEmpty();
    }

    /** Child JVM of the kill -9 test: grants, says so, then waits to be killed. */
    public static final class LedgerCrashChild {
        public static void main(String[] args) throws Exception {
            QemuUser user = QemuUser.lookup(QemuUser.DEFAULT_NAME).orElseThrow();
            ImageChain chain = new ImageChain(List.of(new ImageChain.Layer(Path.of(args[1]), "qcow2", 1),
                    new ImageChain.Layer(Path.of(args[2]), "qcow2", 1)));
            new AccessLedger(Path.of(args[0])).grant("web", user,
                    new AccessPlan(user).disk(chain, false).write(Path.of(args[3])).writeDir(Path.of(args[4])).grants());
            System.out.println("granted");
            System.out.flush();
            Thread.sleep(60_000);
        }
    }
}
