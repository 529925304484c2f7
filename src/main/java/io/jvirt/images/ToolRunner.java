package io.jvirt.images;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the image layer's helper tools (gpg, xz, debugfs, e2fsck, resize2fs) as argument arrays, never through a
 * shell, with a time limit; stdin is /dev/null. qemu-img calls go through {@link io.jvirt.storage.QemuImg} instead.
 */
final class ToolRunner {
    record Result(List<String> command, int exit, String stdout, String stderr) {
        boolean ok() {
            return exit == 0;
        }

        String describe() {
            return String.join(" ", command.subList(0, Math.min(2, command.size()))) + " exited " + exit
                    + (stderr.isBlank() ? "" : ": " + stderr.strip());
        }
    }

    private ToolRunner() {
    }

    /** Runs {@code cmd}; with {@code stdoutTo} set, stdout goes to that file instead of being kept. */
    static Result run(List<String> cmd, Path stdoutTo, Map<String, String> env, Duration timeout) {
        return run(cmd, null, stdoutTo, env, timeout);
    }

    /** As above, with {@code stdin} fed to the process (secrets go this way, never in arguments). */
    static Result run(List<String> cmd, byte[] stdin, Path stdoutTo, Map<String, String> env, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        if (stdoutTo != null) {
            pb.redirectOutput(stdoutTo.toFile());
        }
        if (env != null) {
            pb.environment().putAll(env);
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw ImageException.tool("cannot run " + cmd.get(0) + " (is it installed?): " + e.getMessage());
        }
        if (stdin != null) {
            try (var in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // the process did not read it all; its exit status tells
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread o = stdoutTo == null ? Thread.ofVirtual().start(() -> copy(p.getInputStream(), out)) : null;
        Thread e = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw ImageException.tool(cmd.get(0) + " timed out after " + timeout.toSeconds() + " s");
            }
            if (o != null) {
                o.join();
            }
            e.join();
        } catch (InterruptedException ex) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw ImageException.tool(cmd.get(0) + " was interrupted");
        }
        return new Result(cmd, p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void copy(InputStream in, ByteArrayOutputStream to) {
        try (in) {
            in.transferTo(to);
        } catch (IOException ignored) {
            // the process ended
        }
    }
}
