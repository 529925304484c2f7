package io.jvirt.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test helper: runs a command (argument array), waits with a time limit, returns exit status and merged output. */
public final class Command {
    public record Result(int exit, String output) {
        public Result requireSuccess(List<String> cmd) {
            if (exit != 0) {
                throw new AssertionError(cmd + " failed (" + exit + "): " + output);
            }
            return this;
        }
    }

    private Command() {
    }

    public static Result run(List<String> cmd) {
        return run(cmd, 60);
    }

    public static Result run(List<String> cmd, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[][] out = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError(cmd + " timed out after " + timeoutSeconds + " s");
            }
            reader.join();
            return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(cmd + " could not run", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs and requires exit status 0; returns the output. */
    public static String ok(String... cmd) {
        return run(List.of(cmd)).requireSuccess(List.of(cmd)).output();
    }
}
