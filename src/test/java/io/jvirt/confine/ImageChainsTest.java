package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.testing.Command;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backing chains made by qemu-img, read layer by layer and checked before anything opens them. */
class ImageChainsTest {
    @TempDir
    Path tmp;
    private Path pool;
    private ImageChains chains;

    @BeforeEach
    void setUp() throws Exception {
        pool = Files.createDirectories(tmp.resolve("pool"));
        Files.createDirectories(tmp.resolve("state"));
        PathPolicy policy = PathPolicy.builder().stateDir(tmp.resolve("state")).pool("pool", pool).build();
        chains = new ImageChains(new QemuImg("qemu-img", Duration.ofSeconds(20)), policy);
    }

    @Test
    void threeLayersAreReadTopFirstWithTheirFormats() throws Exception {
        Path base = img("base.qcow2", "qcow2", null, null);
        Path mid = img("mid.qcow2", "qcow2", base.toString(), "qcow2");
        Path top = img("top.qcow2", "qcow2", mid.toString(), "qcow2");
        ImageChain chain = chains.read("disks[0]", top, "qcow2");
        assertThat(chain.paths()).containsExactly(top.toRealPath(), mid.toRealPath(), base.toRealPath());
        assertThat(chain.layers()).allMatch(l -> l.format().equals("qcow2") && l.virtualSize() == 16 << 20);
        assertThat(chain.backing()).hasSize(2);
    }

    @Test
    void aRelativeBackingPathResolvesFromTheOverlaysDirectoryAndARawBaseEndsTheChain() throws Exception {
        Files.createDirectories(pool.resolve("bases"));
        Files.createDirectories(pool.resolve("vms"));
        Path base = img("bases/base.raw", "raw", null, null);
        Path top = pool.resolve("vms/top.qcow2");
        // relative to the overlay, as qemu-img records it
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "../bases/base.raw", "-F", "raw", top.toString());
        ImageChain chain = chains.read("disks[0]", top, "qcow2");
        assertThat(chain.paths()).containsExactly(top.toRealPath(), base.toRealPath());
        assertThat(chain.layers().get(1).format()).isEqualTo("raw");
    }

    @Test
    void aHeaderNamingASystemFileIsRefusedNamingTheOverlay() throws Exception {
        Path evil = unsafeOverlay("evil.qcow2", "/etc/shadow", "raw");
        String evilReal = evil.toRealPath().toString();
        assertThatThrownBy(() -> chains.read("disks[0]", evil, "qcow2"))
                .isInstanceOfSatisfying(JvirtException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.PATH_NOT_ALLOWED);
                    assertThat(e.details()).containsEntry("rule", "system-directory").containsEntry("path", "/etc/shadow")
                            .containsEntry("overlay", evilReal);
                    assertThat(e.getMessage()).contains("backing file of " + evilReal);
                });
        Path stray = Files.writeString(tmp.resolve("stray.raw"), "x");
        Path outside = unsafeOverlay("outside.qcow2", stray.toString(), "raw");
        assertThatThrownBy(() -> chains.read("disks[0]", outside, "qcow2")).hasMessageContaining("rule outside-pools");
    }

    @Test
    void protocolsJsonFifosLoopsAndUnrecordedFormatsAreRefused() throws Exception {
        Path json = unsafeOverlay("json.qcow2", "json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}", "raw");
        assertThatThrownBy(() -> chains.read("d", json, "qcow2")).hasMessageContaining("rule backing-protocol");
        Path nbd = unsafeOverlay("nbd.qcow2", "nbd://10.0.0.1/export", "raw");
        assertThatThrownBy(() -> chains.read("d", nbd, "qcow2")).hasMessageContaining("rule backing-protocol");

        // qemu-img never opens the FIFO (it would hang): the policy refuses the name first
        Path fifo = pool.resolve("fifo");
        Command.ok("mkfifo", fifo.toString());
        Path toFifo = unsafeOverlay("fifo.qcow2", fifo.toString(), "raw");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> chains.read("d", toFifo, "qcow2")).hasMessageContaining("rule not-a-file");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));

        Path a = img("a.qcow2", "qcow2", null, null);
        Path b = img("b.qcow2", "qcow2", a.toString(), "qcow2");
        Command.ok("qemu-img", "rebase", "-u", "-b", b.toString(), "-F", "qcow2", a.toString());
        assertThatThrownBy(() -> chains.read("d", b, "qcow2")).hasMessageContaining("rule backing-loop");

        Path base = img("base.qcow2", "qcow2", null, null);
        Path noFormat = img("noformat.qcow2", "qcow2", base.toString(), "qcow2");
        dropBackingFormat(noFormat);
        assertThatThrownBy(() -> chains.read("d", noFormat, "qcow2"))
                .hasMessageContaining("rule backing-format").hasMessageContaining("qemu-img rebase -u");
    }

    @Test
    void aRawDiskIsNeverReadAsTheQcow2ItsGuestWrote() throws Exception {
        // a guest can write anything into a raw disk, including a qcow2 header naming /etc/shadow
        Path evil = unsafeOverlay("evil.qcow2", "/etc/shadow", "raw");
        Path raw = pool.resolve("guest.raw");
        Files.copy(evil, raw);
        ImageChain chain = chains.read("d", raw, "raw");
        assertThat(chain.paths()).containsExactly(raw.toRealPath());
    }

    @Test
    void anExternalDataFileIsRefused() throws Exception {
        Path top = pool.resolve("data.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + pool.resolve("data.raw"), top.toString(), "16M");
        assertThatThrownBy(() -> chains.read("d", top, "qcow2")).hasMessageContaining("rule external-data-file");
    }

    private Path img(String name, String format, String backing, String backingFormat) {
        Path p = pool.resolve(name);
        if (backing == null) {
            Command.ok("qemu-img", "create", "-q", "-f", format, p.toString(), "16M");
        } else {
            Command.ok("qemu-img", "create", "-q", "-f", format, "-b", backing, "-F", backingFormat, p.toString());
        }
        return p;
    }

    /** An overlay whose header names anything ({@code -u}: qemu-img does not open it). */
    private Path unsafeOverlay(String name, String backing, String backingFormat) {
        Path p = pool.resolve(name);
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", backing, "-F", backingFormat, p.toString(), "16M");
        return p;
    }

    /**
     * What an image made by an old qemu-img looks like: the backing file named without its format. The
     * backing-format header extension (magic 0xE2792ACA) is renamed to an unknown extension, which QEMU ignores.
     */
    private static void dropBackingFormat(Path image) throws Exception {
        byte[] b = Files.readAllBytes(image);
        for (int i = 72; i + 4 < Math.min(b.length, 65536); i++) {
            if ((b[i] & 0xff) == 0xE2 && (b[i + 1] & 0xff) == 0x79 && (b[i + 2] & 0xff) == 0x2A && (b[i + 3] & 0xff) == 0xCA) {
                b[i] = 0x12;
                b[i + 1] = 0x34;
                Files.write(image, b);
                return;
            }
        }
        throw new AssertionError("no backing format extension in " + image);
    }
}
