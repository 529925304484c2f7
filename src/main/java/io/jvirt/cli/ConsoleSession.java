package io.jvirt.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code jvirt console}: prints the serial console, optionally follows it and types stdin into it.
 *
 * <p>With a terminal on stdin the terminal is put in raw mode (via {@code stty}) so keys go to the guest as typed;
 * Ctrl-] (0x1d) detaches, as in virsh.
 */
final class ConsoleSession {
    static final int ESCAPE = 0x1d; // Ctrl-]

    private final JvirtCli cli;
    private final String vm;
    private final boolean follow;
    private final boolean noStdin;
    private volatile boolean detached;

    ConsoleSession(JvirtCli cli, String vm, boolean follow, boolean noStdin) {
        this.cli = cli;
        this.vm = vm;
        this.follow = follow;
        this.noStdin = noStdin;
    }

    int run() throws Exception {
        ApiClient c = cli.client();
        PrintStream out = cli.out;
        boolean stdinTty = cli.in == System.in && isTty(0);
        boolean interactive = stdinTty && cli.out == System.out && isTty(1);
        String path = JvirtCli.vmPath(vm) + "/console";
        if (!follow && !interactive) {
            byte[] text = c.callRaw("GET", path, Map.of("follow", "false"), null, null);
            out.write(text);
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
                    cli.err.print("Connected to VM " + vm + " (escape character is ^])\r\n");
                    cli.err.flush();
                }
            }
            Thread t = new Thread(() -> forwardStdin(c, path), "jvirt-console-stdin");
            t.setDaemon(true);
            t.start();
        }
        try {
            c.stream("GET", path, Map.of("follow", "true"), (b, off, len) -> {
                out.write(b, off, len);
                out.flush();
            });
        } catch (IOException e) {
            if (!detached) throw e;
        } finally {
            if (saved != null) {
                stty(saved);
                cli.err.print("\r\n");
                cli.err.flush();
            }
        }
        return JvirtCli.EXIT_OK;
    }

    /**
     * Follows the console from its start until {@code text} appears, prints the line holding it, and exits 0; exits
     * with {@link JvirtCli#EXIT_TIMEOUT} after {@code timeoutSeconds}. Scripts use this instead of piping a
     * never-ending {@code --follow} into grep.
     */
    int waitFor(String text, long timeoutSeconds) throws Exception {
        ApiClient c = cli.client();
        String path = JvirtCli.vmPath(vm) + "/console";
        var found = new java.util.concurrent.atomic.AtomicReference<String>();
        var timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        StringBuilder line = new StringBuilder();
        Thread timer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(java.time.Duration.ofSeconds(timeoutSeconds));
                timedOut.set(true);
                c.close();
            } catch (InterruptedException e) {
                // found before the deadline
            }
        });
        try {
            c.stream("GET", path, Map.of("follow", "true"), (b, off, len) -> {
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
            cli.out.println(found.get());
            cli.out.flush();
            return JvirtCli.EXIT_OK;
        }
        if (timedOut.get()) {
            cli.err.println("jvirt: error: '" + text + "' did not appear on the console of " + vm + " within "
                    + timeoutSeconds + " s");
            return JvirtCli.EXIT_TIMEOUT;
        }
        cli.err.println("jvirt: error: the console of " + vm + " ended before '" + text + "' appeared");
        return JvirtCli.EXIT_FAILURE;
    }

    /** Copies stdin to {@code POST /console} until EOF or Ctrl-]. */
    private void forwardStdin(ApiClient c, String path) {
        InputStream in = cli.in;
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
                        c.callRaw("POST", path, null, chunk, "application/octet-stream");
                    } catch (ApiException e) {
                        if (!"timeout".equals(e.code())) throw e;
                        // the guest takes no input for now (paused?): say so and keep the session
                        cli.err.print("jvirt: " + e.getMessage() + "\r\n");
                        cli.err.flush();
                    }
                }
                if (esc >= 0) {
                    detached = true;
                    c.close(); // ends the output stream in run()
                    return;
                }
            }
        } catch (Exception e) {
            if (!detached && !(e instanceof ApiClient.ClosedException)) {
                cli.err.print("jvirt: error: cannot type into the console: " + e.getMessage() + "\r\n");
                cli.err.flush();
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
