package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.snapshot.SnapshotTestDefinitions;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** jvirt snapshot against a real daemon, on a shut-off VM (qemu-img path): create, list --tree, info, revert, delete. */
class SnapshotCliTest {
    record Result(int exit, String out, String err) {
    }

    static Result jvirt(DaemonProcess daemon, String... args) {
        String[] full = new String[args.length + 2];
        full[0] = "--socket";
        full[1] = daemon.socket().toString();
        System.arraycopy(args, 0, full, 2, args.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = JvirtCli.run(full, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void snapshotCommandsOnAStoppedVm() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("c.qcow2"), "qcow2", "16M");
            assertThat(daemon.http().post("/v1/vms", SnapshotTestDefinitions.withDisks("cli1", disk)).status()).isEqualTo(201);

            Result a = jvirt(daemon, "snapshot", "create", "cli1", "a");
            assertThat(a.exit()).as(a.toString()).isZero();
            assertThat(a.out()).contains("Snapshot a of VM cli1 created");
            assertThat(jvirt(daemon, "snapshot", "create", "cli1", "b", "--external").exit()).isZero();
            assertThat(jvirt(daemon, "snapshot", "create", "cli1", "c", "--external", "--disk", "vda").exit()).isZero();
            Result tree = jvirt(daemon, "snapshot", "list", "cli1", "--tree");
            assertThat(tree.out()).contains("a (internal)\n").contains("  `- b (external)\n").contains("     `- c (external) *\n");
            Result dup = jvirt(daemon, "snapshot", "create", "cli1", "a");
            assertThat(dup.exit()).as(dup.toString()).isEqualTo(JvirtCli.EXIT_CONFLICT);
            assertThat(dup.err()).contains("already has a snapshot 'a'");
            Result bad = jvirt(daemon, "snapshot", "create", "cli1", "x", "--disk", "vdq");
            assertThat(bad.exit()).isEqualTo(JvirtCli.EXIT_INVALID);
            assertThat(jvirt(daemon, "snapshot", "info", "cli1", "nope").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
            Result info = jvirt(daemon, "snapshot", "info", "cli1", "b");
            assertThat(info.out()).contains("external").contains(disk.toString() + " -> ");

            assertThat(jvirt(daemon, "snapshot", "revert", "cli1", "b").exit()).isZero();
            assertThat(jvirt(daemon, "snapshot", "list", "cli1").out()).contains("b *");
            // c.qcow2 now backs two images (b's overlay, which c froze, and the revert's new top): b cannot be merged
            Result refused = jvirt(daemon, "snapshot", "delete", "cli1", "b");
            assertThat(refused.exit()).as(refused.toString()).isEqualTo(JvirtCli.EXIT_CONFLICT);
            assertThat(refused.err()).contains("backing file of 2 images");
            // c's frozen image (b's overlay) backs nothing since the revert discarded c's overlay: it simply goes
            Result delC = jvirt(daemon, "snapshot", "delete", "cli1", "c");
            assertThat(delC.exit()).as(delC.toString()).isZero();
            assertThat(dir.resolve("cli1-vda-b.qcow2")).doesNotExist();
            // now b merges the revert's top into c.qcow2 (stopped VM: qemu-img commit)
            Result delB = jvirt(daemon, "snapshot", "delete", "cli1", "b");
            assertThat(delB.exit()).as(delB.toString()).isZero();
            assertThat(daemon.http().get("/v1/vms/cli1").json().path("definition").path("disks").get(0).path("path").asText())
                    .isEqualTo(disk.toString());
            Result del = jvirt(daemon, "snapshot", "delete", "cli1", "a");
            assertThat(del.exit()).as(del.toString()).isZero();
            assertThat(jvirt(daemon, "snapshot", "list", "cli1", "--tree").out()).doesNotContain("a (internal)");
        }
    }
}
