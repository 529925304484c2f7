package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.testing.Command;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskSharingTest {
    @TempDir
    Path tmp;

    private static ImageChain chain(String... paths) {
        return new ImageChain(java.util.Arrays.stream(paths).map(p -> new ImageChain.Layer(Path.of(p), "qcow2", 1)).toList());
    }

    private static DiskSharing.VmDisks vm(String name, DiskSharing.Disk... disks) {
        return new DiskSharing.VmDisks(name, List.of(disks));
    }

    @Test
    void aSharedReadOnlyBaseIsFine() {
        var a = vm("a", new DiskSharing.Disk("vda", chain("/p/a.qcow2", "/p/base.qcow2"), false));
        var b = vm("b", new DiskSharing.Disk("vda", chain("/p/b.qcow2", "/p/base.qcow2"), false),
                new DiskSharing.Disk("vdb", chain("/p/tools.iso"), true));
        var c = vm("c", new DiskSharing.Disk("vda", chain("/p/tools.iso"), true));
        assertThat(DiskSharing.conflicts(a, List.of(b, c))).isEmpty();
        assertThat(DiskSharing.conflicts(c, List.of(a, b))).isEmpty();
    }

    @Test
    void oneWritableDiskInTwoVmsIsRefused() {
        var a = vm("a", new DiskSharing.Disk("vda", chain("/p/a.qcow2"), false));
        var b = vm("b", new DiskSharing.Disk("vdb", chain("/p/a.qcow2"), true));
        assertThatThrownBy(() -> DiskSharing.check(b, List.of(a)))
                .isInstanceOfSatisfying(JvirtException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.DISK_IN_USE);
                    assertThat(e.details()).containsEntry("vm", "a").containsEntry("disk", "vda").containsEntry("path", "/p/a.qcow2");
                    assertThat(e.getMessage()).contains("disk vda of VM 'a' (/p/a.qcow2) is writable");
                });
        // the same VM redefined is not its own rival
        assertThat(DiskSharing.conflicts(a, List.of(a))).isEmpty();
    }

    @Test
    void anotherVmsWritableDiskAsABackingLayerIsRefusedBothWays() {
        var a = vm("a", new DiskSharing.Disk("vda", chain("/p/a.qcow2"), false));
        var evil = vm("evil", new DiskSharing.Disk("vda", chain("/p/evil.qcow2", "/p/a.qcow2"), false));
        assertThat(DiskSharing.conflicts(evil, List.of(a))).singleElement()
                .satisfies(c -> assertThat(c.describe()).contains("layer 1 of the backing chain of its disk vda"));
        assertThat(DiskSharing.conflicts(a, List.of(evil))).hasSize(1);
    }

    @Test
    void oneVmCannotUseItsWritableDiskTwice() {
        var a = vm("a", new DiskSharing.Disk("vda", chain("/p/a.qcow2"), false),
                new DiskSharing.Disk("vdb", chain("/p/b.qcow2", "/p/a.qcow2"), false));
        assertThat(DiskSharing.conflicts(a, List.of())).isNotEmpty();
    }

    @Test
    void realChainsThroughSymlinksAndRelativeBackingNamesAreCompared() throws Exception {
        Path pool = Files.createDirectories(tmp.resolve("pool"));
        Files.createDirectories(tmp.resolve("state"));
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", pool.resolve("web.qcow2").toString(), "16M");
        Files.createSymbolicLink(pool.resolve("alias.qcow2"), pool.resolve("web.qcow2"));
        // a header naming the other VM's disk by a relative name
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "web.qcow2", "-F", "qcow2", pool.resolve("thief.qcow2").toString());
        ImageChains chains = new ImageChains(new QemuImg(),
                PathPolicy.builder().stateDir(tmp.resolve("state")).pool("pool", pool).build());
        var web = vm("web", new DiskSharing.Disk("vda", chains.read("vda", pool.resolve("web.qcow2"), "qcow2"), false));
        var alias = vm("alias", new DiskSharing.Disk("vda", chains.read("vda", pool.resolve("alias.qcow2"), "qcow2"), false));
        var thief = vm("thief", new DiskSharing.Disk("vda", chains.read("vda", pool.resolve("thief.qcow2"), "qcow2"), false));
        assertThat(DiskSharing.conflicts(alias, List.of(web))).isNotEmpty();
        assertThatThrownBy(() -> DiskSharing.check(thief, List.of(web))).hasMessageContaining("VM 'web'");
    }
}
