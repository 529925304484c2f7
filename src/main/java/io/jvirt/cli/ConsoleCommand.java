package io.jvirt.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jvirt console}: prints the serial console, optionally follows it and types stdin into it.
 *
 * <p>With a terminal on stdin the terminal is put in raw mode (via {@code stty}) so keys go to the guest as typed;
 * Ctrl-] (0x1d) detaches, as in virsh.
 */
@Command(name = "console",
        description = {"Print a VM's serial console output so far; on a terminal or with --follow, keep streaming it "
            + "and type stdin into the console. Ctrl-] detaches."})
final class ConsoleCommand extends CliCommand.OnVm {
    static final int ESCAPE = 0x1d; // Ctrl-]

    @Option(names = {"--follow", "-f"}, description = "Keep streaming new output (default on a terminal).")
    boolean follow;

    @Option(names = "--tail", paramLabel = "BYTES",
            description = "Only the last BYTES of the history (reaching into the rotated console.log.1 when the log"
                + " was just rotated); 0: none, only new output with --follow.")
    Long tail;

    @Option(names = "--no-stdin", description = "Do not forward stdin to the console.")
    boolean noStdin;

    @Option(names = "--wait-for", paramLabel = "TEXT",
            description = "Follow the console (history included) until TEXT appears; print that line and exit 0.")
    String waitFor;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "With --wait-for: give up after this many seconds (exit 6). Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    private volatile boolean detached;

    @Override
    public Integer call() throws Exception {
        if (waitFor != null) {
            if (waitFor.isEmpty() || timeoutSeconds <= 0) {
                throw usage("--wait-for needs a non-empty TEXT and --timeout a positive number of seconds");
            }
            return waitFor(waitFor, timeoutSeconds);
        }
        return view();
    }

    private String path() {
        return vmPath(vm) + "/console";
    }

    private Map<String, String> query(boolean follow) {
        return tail == null ? Map.of("follow", String.valueOf(follow))
                : Map.of("follow", String.valueOf(follow), "tail", String.valueOf(tail));
    }

    private int view() throws Exception {
        if (tail != null && tail < 0) {
            throw usage("--tail needs a number of bytes, 0 or more");
        }
        Session s = session();
        ApiClient c = api();
        PrintStream out = s.out;
        boolean stdinTty = s.in == System.in && isTty(0);
        boolean interactive = stdinTty && s.out == System.out && isTty(1);
        if (!follow && !interactive) {
            out.write(c.callRaw("GET", path(), query(false), null, null));
            out.flush();
            return JvirtCli.EXIT_OK;
        }
        String saved = null;
        if (!noStdin) {
            if (stdinTty) {
                saved = stty("-g");
                if (saved != null) {
                    final String restore = saved;
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> stty(restore)));
                    stty("raw", "-echo");
                    s.err.print("Connected to VM " + vm + " (escape character is ^])\r\n");
                    s.err.flush();
                }
            }
            Thread t = new Thread(() -> forwardStdin(c), "jvirt-console-stdin");
            t.setDaemon(true);
            t.start();
        }
        try {
            c.stream("GET", path(), query(true), (b, off, len) -> {
                out.write(b, off, len);
                out.flush();
            });
        } catch (IOException e) {
            if (!detached) throw e;
        } finally {
            if (saved != null) {
                stty(saved);
                s.err.print("\r\n");
                s.err.flush();
            }
        }
        return JvirtCli.EXIT_OK;
    }

    /**
     * Follows the console from its start until {@code text} appears, prints the line holding it, and exits 0; exits
     * with {@link JvirtCli#EXIT_TIMEOUT} after {@code timeoutSeconds}. Scripts use this instead of piping a
     * never-ending {@code --follow} into grep.
     */
    private int waitFor(String text, long timeoutSeconds) throws Exception {
        ApiClient c = api();
        AtomicReference<String> found = new AtomicReference<>();
        AtomicBoolean timedOut = new AtomicBoolean();
        StringBuilder line = new StringBuilder();
        Thread timer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(Duration.ofSeconds(timeoutSeconds));
                timedOut.set(true);
                c.close();
            } catch (InterruptedException e) {
                // found before the deadline
            }
        });
        try {
            c.stream("GET", path(), Map.of("follow", "true"), (b, off, len) -> {
                if (found.get() != null) return;
                String chunk = new String(b, off, len, StandardCharsets.ISO_8859_1);
                for (int i = 0; i < chunk.length() && found.get() == null; i++) {
                    char ch = chunk.charAt(i);
                    if (ch != '\n') line.append(ch);
                    if (line.indexOf(text) >= 0 && (ch == '\n' || i == chunk.length() - 1)) {
                        found.set(line.toString().strip());
                    } else if (ch == '\n') {
                        line.setLength(0);
                    }
                }
                if (found.get() != null) c.close(); // ends the stream
            });
        } catch (IOException e) {
            if (found.get() == null && !timedOut.get()) throw e;
        } finally {
            timer.interrupt();
        }
        if (found.get() != null) {
            out().line(found.get());
            return JvirtCli.EXIT_OK;
        }
        if (timedOut.get()) {
            throw new CliException(JvirtCli.EXIT_TIMEOUT, "'" + text + "' did not appear on the console of " + vm
                    + " within " + timeoutSeconds + " s");
        }
        throw new CliException(JvirtCli.EXIT_FAILURE, "the console of " + vm + " ended before '" + text + "' appeared");
    }

    /** Copies stdin to {@code POST /console} until EOF or Ctrl-]. */
    private void forwardStdin(ApiClient c) {
        InputStream in = session().in;
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                int esc = -1;
                for (int i = 0; i < n; i++) {
                    if ((buf[i] & 0xff) == ESCAPE) {
                        esc = i;
                        break;
                    }
                }
                int len = esc < 0 ? n : esc;
                if (len > 0) {
                    byte[] chunk = new byte[len];
                    System.arraycopy(buf, 0, chunk, 0, len);
                    try {
                        c.callRaw("POST", path(), null, chunk, "application/octet-stream");
                    } catch (ApiException e) {
                        if (!"timeout".equals(e.code())) throw e;
                        // the guest takes no input for now (paused?): say so and keep the session
                        session().err.print("jvirt: " + e.getMessage() + "\r\n");
                        session().err.flush();
                    }
                }
                if (esc >= 0) {
                    detached = true;
                    c.close(); // ends the output stream in view()
                    return;
                }
            }
        } catch (Exception e) {
            if (!detached && !(e instanceof ClientClosedException)) {
                session().err.print("jvirt: error: cannot type into the console: " + e.getMessage() + "\r\n");
                session().err.flush();
            }
        }
    }

    /** Whether file descriptor {@code fd} of this process is a terminal (Linux /proc). */
    static boolean isTty(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** Runs {@code stty args} on the controlling terminal; returns its output (trimmed), or null on failure. */
    static String stty(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "stty";
        System.arraycopy(args, 0, cmd, 1, args.length);
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/tty")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? outText : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
