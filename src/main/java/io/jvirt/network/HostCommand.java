package io.jvirt.network;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the network tools (ip, nft, kill) as argument arrays, never through a shell, with a fixed PATH, stdin from
 * /dev/null and a time limit. A failure is a {@link ErrorCode#NETWORK_FAILED} carrying the tool's own words.
 */
final class HostCommand {
    private static final List<String> DIRS = List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin");
    private static final long TIMEOUT_SECONDS = 30;

    record Result(int exit, String stdout, String stderr) {
        boolean ok() {
            return exit == 0;
        }
    }

    private HostCommand() {
    }

    /** The tool's absolute path from the system directories (never the caller's PATH). */
    static String locate(String tool) {
        for (String d : DIRS) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new JvirtException(ErrorCode.NETWORK_FAILED, tool + " is not installed (networks need iproute2, nftables and dnsmasq-base)");
    }

    /** Runs and returns stdout; a non-zero exit throws with stderr. */
    static String check(String tool, String... args) {
        Result r = run(tool, args);
        if (!r.ok()) {
            throw failed(tool, args, r);
        }
        return r.stdout();
    }

    static JvirtException failed(String tool, String[] args, Result r) {
        String words = r.stderr().isBlank() ? r.stdout().strip() : r.stderr().strip();
        return new JvirtException(ErrorCode.NETWORK_FAILED, tool + " " + String.join(" ", args) + " failed (exit " + r.exit()
                + "): " + words, Map.of("tool", tool));
    }

    static Result run(String tool, String... args) {
        List<String> argv = new java.util.ArrayList<>();
        argv.add(locate(tool));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", String.join(":", DIRS));
        pb.environment().put("LC_ALL", "C");
        try {
            Process p = pb.start();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread e = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            copy(p.getInputStream(), out);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new JvirtException(ErrorCode.NETWORK_FAILED, tool + " " + String.join(" ", args) + " timed out");
            }
            e.join();
            return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.NETWORK_FAILED, "cannot run " + tool + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.NETWORK_FAILED, tool + " was interrupted");
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try {
            in.transferTo(out);
        } catch (IOException e) {
            // the process ended; what was read is kept
        }
    }
}
