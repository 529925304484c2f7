package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PathPolicyTest {
    @TempDir
    Path tmp;
    private Path state;
    private Path pool;
    private Path allowed;
    private PathPolicy policy;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        Files.createDirectories(state.resolve("pools/default"));
        Files.createDirectories(state.resolve("owners/web"));
        Files.writeString(state.resolve("owners/web/definition.json"), "{}");
        pool = Files.createDirectories(tmp.resolve("images"));
        allowed = Files.createDirectories(tmp.resolve("kernels"));
        policy = PathPolicy.builder().stateDir(state).pool("default", state.resolve("pools/default"))
                .pool("images", pool).allowDir(allowed).build();
    }

    @Test
    void filesInPoolsAndAllowedDirsPassAsTheirRealPaths() throws Exception {
        Path disk = Files.writeString(pool.resolve("a.qcow2"), "x");
        Path inDefault = Files.writeString(state.resolve("pools/default/b.qcow2"), "x");
        Path kernel = Files.writeString(allowed.resolve("vmlinux"), "x");
        Path link = Files.createSymbolicLink(tmp.resolve("link.qcow2"), disk);
        assertThat(policy.checkFile("disk", disk)).isEqualTo(disk.toRealPath());
        assertThat(policy.checkFile("disk", inDefault)).isEqualTo(inDefault.toRealPath());
        assertThat(policy.checkFile("kernel", kernel)).isEqualTo(kernel.toRealPath());
        // a link outside the pools to a file inside one is judged by where the file is
        assertThat(policy.checkFile("disk", link)).isEqualTo(disk.toRealPath());
    }

    @Test
    void aFileToBeCreatedIsJudgedByItsDirectoryBeforeItExists() throws Exception {
        Path link = Files.createSymbolicLink(tmp.resolve("to-etc"), Path.of("/etc"));
        assertThat(policy.checkNewFile("dest", pool.resolve("new.qcow2"))).isEqualTo(pool.toRealPath().resolve("new.qcow2"));
        assertNewRule(Path.of("/etc/new.qcow2"), "system-directory");
        assertNewRule(link.resolve("new.qcow2"), "system-directory"); // judged by where the directory really is
        assertNewRule(state.resolve("owners/web/new.qcow2"), "state-directory");
        assertNewRule(tmp.resolve("new.qcow2"), "outside-pools");
        assertNewRule(pool.resolve("no-such-dir/new.qcow2"), "not-a-directory");
        assertThat(pool.resolve("new.qcow2")).doesNotExist();
        // an existing file is checked as a disk is
        Path hard = Files.writeString(pool.resolve("h.qcow2"), "x");
        Files.createLink(pool.resolve("h2.qcow2"), hard);
        assertNewRule(hard, "hard-link");
    }

    private void assertNewRule(Path p, String rule) {
        assertThatThrownBy(() -> policy.checkNewFile("dest", p)).isInstanceOfSatisfying(JvirtException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.PATH_NOT_ALLOWED);
            assertThat(e.getMessage()).contains("[rule " + rule + "]");
        });
    }

    @Test
    void systemFilesAndDevicesAreRefusedNamingTheRule() {
        assertRule(Path.of("/etc/shadow"), "system-directory", "/etc");
        assertRule(Path.of("/proc/self/mem"), "system-directory", "/proc");
        assertRule(Path.of("/dev/null"), "system-directory", "/dev");
        assertRule(Path.of("/boot"), "system-directory", "/boot");
        assertRule(Path.of("/usr/bin/env"), "system-directory", "/usr");
        Path block = firstBlockDevice();
        if (block != null) {
            assertThatThrownBy(() -> policy.checkFile("disk", block)).hasMessageContaining("allowed one by one");
            PathPolicy withDevice = PathPolicy.builder().stateDir(state).pool("images", pool).allowDevice(block).build();
            assertThat(withDevice.checkFile("disk", block)).isEqualTo(block);
        }
    }

    @Test
    void aLinkFromAPoolToASystemFileIsRefused() throws Exception {
        Path link = Files.createSymbolicLink(pool.resolve("evil.qcow2"), Path.of("/etc/shadow"));
        assertThatThrownBy(() -> policy.checkFile("disks[0].path", link))
                .hasMessageContaining("(really /etc/shadow)").hasMessageContaining("rule system-directory");
    }

    @Test
    void theStateDirectoryIsRefusedOutsideItsPools() {
        assertRule(state.resolve("owners/web/definition.json"), "state-directory", state.toString());
    }

    @Test
    void filesOutsidePoolsAreRefused() throws Exception {
        Path stray = Files.writeString(tmp.resolve("stray.qcow2"), "x");
        assertRule(stray, "outside-pools", "--allow-dir");
    }

    @Test
    void rootsHomeIsPrivateUnlessAnAllowedDirIsPlacedThere() throws Exception {
        Path guest = Path.of(System.getProperty("user.home"), ".cache", "jvirt", "guest", "vmlinux");
        if (!Files.isRegularFile(guest) || !guest.toRealPath().startsWith("/root")) {
            return; // only meaningful where the tiny guest lives in root's home
        }
        assertRule(guest, "private-directory", "/root");
        PathPolicy allowing = PathPolicy.builder().stateDir(state).allowDir(guest.getParent()).build();
        assertThat(allowing.checkFile("boot.kernel", guest)).isEqualTo(guest.toRealPath());
    }

    @Test
    void hardLinksFifosAndDirectoriesAreRefused() throws Exception {
        Path disk = Files.writeString(pool.resolve("a.qcow2"), "x");
        Files.createLink(pool.resolve("b.qcow2"), disk);
        assertRule(disk, "hard-link", "2 names");
        Path fifo = pool.resolve("fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        assertRule(fifo, "not-a-file", "not a regular file");
        assertRule(Files.createDirectories(pool.resolve("dir")), "not-a-file", "not a regular file");
        assertThatThrownBy(() -> policy.checkFile("disk", pool.resolve("missing")))
                .isInstanceOfSatisfying(JvirtException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DISK_NOT_FOUND));
    }

    @Test
    void poolsMayNotBeSystemDirectoriesOrHoldThem() throws Exception {
        assertRootRule(Path.of("/"), "system-directory");
        assertRootRule(Path.of("/etc"), "system-directory");
        assertRootRule(Path.of("/usr/share"), "system-directory");
        assertRootRule(Path.of("/var"), "system-directory"); // holds /var/log
        assertRootRule(tmp, "state-directory"); // holds the state directory
        assertRootRule(state.resolve("owners"), "state-directory");
        assertRootRule(tmp.resolve("nope"), "not-a-directory");
        assertThat(policy.checkRoot("pool", Files.createDirectories(state.resolve("pools/fast")))).isNotNull();
        assertThat(policy.checkRoot("pool", Files.createDirectories(tmp.resolve("srv/vms")))).isEqualTo(tmp.resolve("srv/vms").toRealPath());
        assertThatThrownBy(() -> PathPolicy.builder().stateDir(state).pool("bad", Path.of("/etc")).build())
                .hasMessageContaining("pool 'bad'");
        // an allowed directory may hold the state directory; the state directory's files stay refused
        PathPolicy wide = PathPolicy.builder().stateDir(state).allowDir(tmp).build();
        Path doc = Files.createDirectories(state.resolve("owners/web")).resolve("definition.json");
        Files.writeString(doc, "{}");
        assertThatThrownBy(() -> wide.checkFile("disks[0].path", doc))
                .isInstanceOfSatisfying(JvirtException.class, e -> assertThat(e.details()).containsEntry("rule", "state-directory"));
    }

    private void assertRule(Path p, String rule, String mention) {
        assertThatThrownBy(() -> policy.checkFile("disks[0].path", p))
                .isInstanceOfSatisfying(JvirtException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.PATH_NOT_ALLOWED);
                    assertThat(e.details()).containsEntry("rule", rule).containsEntry("path", p.toString());
                    assertThat(e.getMessage()).startsWith("disks[0].path: ").contains(mention);
                });
    }

    private void assertRootRule(Path p, String rule) {
        assertThatThrownBy(() -> policy.checkRoot("pool", p))
                .isInstanceOfSatisfying(JvirtException.class, e -> assertThat(e.details()).containsEntry("rule", rule));
    }

    private static Path firstBlockDevice() {
        for (String d : new String[] {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0"}) {
            Path p = Path.of(d);
            if (Files.exists(p) && PathPolicy.isBlockDevice(p)) {
                return p;
            }
        }
        return null;
    }
}
