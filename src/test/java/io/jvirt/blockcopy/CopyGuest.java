package io.jvirt.blockcopy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test helpers: a tiny guest with one qcow2 disk, guest-side reads and writes of sector 0, host-side checks. */
final class CopyGuest {
    static final Duration T = GuestConsole.TIMEOUT;

    private CopyGuest() {
    }

    static ObjectNode definition(String name, Path disk) {
        ObjectNode d = TestGuest.definition(name);
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        return d;
    }

    static ConsoleReader console(TestHttp api, String vm) throws IOException {
        return GuestConsole.ready(api, vm);
    }

    static void type(TestHttp api, String vm, String line) {
        GuestConsole.type(api, vm, line);
    }

    static void write(TestHttp api, ConsoleReader console, String vm, String word) {
        GuestConsole.writeAt(api, console, vm, "vda", 0, word);
    }

    static void expect(TestHttp api, ConsoleReader console, String vm, String five) {
        GuestConsole.expectAt(api, console, vm, "vda", 0, five);
    }

    static JsonNode ok(TestHttp.Response r) {
        assertThat(r.status()).as(r.toString()).isBetween(200, 202);
        return r.json();
    }

    /** Runs a host command, returns its stdout+stderr; fails on a non-zero exit. */
    static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(List.of(command) + " timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError(List.of(command) + " failed: " + text);
            }
            return text;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Fills a range of an image with a byte pattern (qemu-io, QEMU's own tool). */
    static void fill(Path image, String format, int pattern, String offset, String length) {
        run("qemu-io", "-f", format, "-c", "write -P " + pattern + " " + offset + " " + length, image.toString());
    }

    /** Whether a range of an image (through its backing chain) holds the pattern. */
    static boolean holds(Path image, String format, int pattern, String offset, String length) {
        String out = run("qemu-io", "-r", "-f", format, "-c", "read -P " + pattern + " " + offset + " " + length, image.toString());
        return !out.contains("verification failed");
    }

    /** Sector 0 of an image as the guest sees it, up to the first NUL or newline (read on the host, QEMU stopped). */
    static String sector0(Path image, String format) {
        try {
            Path out = Files.createTempFile("sector0", ".raw");
            try {
                Files.delete(out);
                run("qemu-img", "dd", "-f", format, "-O", "raw", "bs=512", "count=1", "if=" + image, "of=" + out);
                byte[] b = Files.readAllBytes(out);
                int n = 0;
                while (n < b.length && b[n] != 0 && b[n] != '\n') {
                    n++;
                }
                return new String(b, 0, n, StandardCharsets.US_ASCII);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Every "SEQ N" the guest's seqwriter printed in a console text; the largest is the last acknowledged write. */
    static long lastSeq(String console) {
        long max = 0;
        for (String line : console.split("\r?\n")) {
            String l = line.strip();
            int i = l.lastIndexOf("SEQ ");
            if (i >= 0 && !l.contains("SEQ-ERROR")) {
                String rest = l.substring(i + 4).strip();
                if (rest.matches("\\d+")) {
                    max = Math.max(max, Long.parseLong(rest));
                }
            }
        }
        return max;
    }

    static List<String> files(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.forEach(p -> names.add(p.getFileName().toString()));
        }
        names.sort(null);
        return names;
    }
}
