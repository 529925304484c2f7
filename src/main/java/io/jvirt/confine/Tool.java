package io.jvirt.confine;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The confinement helpers' runner for small host tools (getfacl, setfacl, getent, setpriv): argument arrays only. */
final class Tool {
    record Result(List<String> command, int exit, String stdout, String stderr) {
        boolean ok() {
            return exit == 0;
        }

        String describe() {
            return command.get(0) + " exited " + exit + (stderr.isBlank() ? "" : ": " + stderr.strip());
        }
    }

    private Tool() {
    }

    static Result run(List<String> cmd, long timeoutSeconds) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            return new Result(cmd, 127, "", "cannot run " + cmd.get(0) + ": " + e.getMessage());
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()), Thread::startVirtualThread);
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()), Thread::startVirtualThread);
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                return new Result(cmd, 124, "", cmd.get(0) + " timed out after " + timeoutSeconds + " s");
            }
            return new Result(cmd, p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(cmd, 130, "", "interrupted");
        }
    }

    private static String drain(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
