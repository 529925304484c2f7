package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** jvirt blockcopy and jvirt blockjob: live copy of a running VM's disk (virsh blockcopy / blockjob). */
final class BlockCopyCommands {
    private BlockCopyCommands() {
    }

    static String diskPath(String vm, String disk) {
        return JvirtCli.vmPath(vm) + "/disks/" + ApiClient.segment(disk);
    }

    @Command(name = "blockcopy", description = "Copy a running VM's disk to a new image while the guest runs; "
            + "optionally switch the guest to it (--pivot).")
    static final class BlockCopyCmd extends JvirtCli.Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "DISK", description = "The disk's name, e.g. vda.")
        String disk;
        @Parameters(index = "2", paramLabel = "DEST", description = "Absolute path of the destination image.")
        String dest;
        @Option(names = "--shallow", description = "Copy only the top image; DEST gets the source's backing file.")
        boolean shallow;
        @Option(names = "--reuse-external", description = "DEST exists already: copy into it.")
        boolean reuse;
        @Option(names = "--format", paramLabel = "qcow2|raw", description = "DEST's format (default: the source's).")
        String format;
        @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "Copy rate limit (default: none).")
        Long bandwidth;
        @Option(names = "--granularity", paramLabel = "BYTES", description = "Dirty-tracking granularity (power of 2).")
        Long granularity;
        @Option(names = "--buf-size", paramLabel = "BYTES", description = "Copy buffer size.")
        Long bufSize;
        @Option(names = "--synchronous-writes", description = "Guest writes reach both images before they complete.")
        boolean synchronousWrites;
        @Option(names = "--wait", description = "Show progress and return once the copy is ready (or ended).")
        boolean waitReady;
        @Option(names = "--pivot", description = "Once ready, switch the guest to DEST (implies --wait).")
        boolean pivot;
        @Option(names = "--finish", description = "Once ready, end the copy: DEST is a point-in-time copy (implies --wait).")
        boolean finish;
        @Option(names = "--timeout", paramLabel = "S", description = "Abort the copy if it is not ready within S seconds.")
        Integer timeout;

        @Override
        public Integer call() throws Exception {
            if (pivot && finish) usage("--pivot and --finish exclude each other");
            checkTimeout(timeout);
            ObjectNode body = JsonNodeFactory.instance.objectNode().put("dest", dest);
            if (shallow) body.put("shallow", true);
            if (reuse) body.put("reuseExternal", true);
            if (format != null) body.put("format", format);
            if (bandwidth != null) body.put("bandwidthMiB", bandwidth);
            if (granularity != null) body.put("granularity", granularity);
            if (bufSize != null) body.put("bufSize", bufSize);
            if (synchronousWrites) body.put("synchronousWrites", true);
            if (pivot) body.put("pivot", true);
            if (finish) body.put("finish", true);
            if (timeout != null && (pivot || finish)) body.put("timeoutSeconds", timeout);
            String path = diskPath(vm, disk) + "/copy";
            if (!waitReady && !pivot && !finish) {
                JsonNode op = cli.client().post(path, Map.of(), body);
                return done(op, "Block copy of " + vm + "/" + disk + " to " + dest + " started (operation "
                        + op.path("id").asText() + "); see `jvirt blockjob " + vm + " " + disk + " --info`");
            }
            try (ProgressWatch watch = ProgressWatch.open(cli, vm, disk)) {
                JsonNode op = cli.client().post(path, Map.of(), body);
                if (pivot || finish) {
                    JsonNode doneOp = cli.awaitOperation(op, null, "the copy of " + vm + "/" + disk);
                    watch.finish();
                    JsonNode r = doneOp.path("result");
                    String pause = r.hasNonNull("pivotPauseMillis") ? " (guest paused " + r.path("pivotPauseMillis").asLong() + " ms)" : "";
                    return done(doneOp, pivot ? "Pivoted: " + vm + "/" + disk + " now uses " + dest + pause
                            : "Finished: " + dest + " is a point-in-time copy; " + vm + "/" + disk + " stays on " + r.path("source").asText());
                }
                JsonNode ended = watch.awaitReady(timeout);
                if (ended == null) { // timed out: like virsh, give up the copy
                    cli.client().post(diskPath(vm, disk) + "/job/abort", Map.of(), null);
                    throw new JvirtCli.CliException(JvirtCli.EXIT_TIMEOUT, "the copy was not ready within " + timeout
                            + " s and was aborted");
                }
                watch.finish();
                if (!"ready".equals(ended.path("phase").asText())) {
                    throw new JvirtCli.CliException(JvirtCli.EXIT_QEMU, "the copy ended (" + ended.path("phase").asText()
                            + "): " + ended.path("message").asText());
                }
                JsonNode job = cli.client().get(diskPath(vm, disk) + "/job");
                return done(job, "Copy of " + vm + "/" + disk + " is ready: source and " + dest + " are in sync; "
                        + "`jvirt blockjob " + vm + " " + disk + " --pivot` switches the guest, --abort keeps it on the source");
            }
        }
    }

    @Command(name = "blockjob", description = "Show, pivot, abort or throttle a disk's block copy.")
    static final class BlockJobCmd extends JvirtCli.Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "DISK")
        String disk;
        @Option(names = "--info", description = "Show the copy's phase and progress (the default).")
        boolean info;
        @Option(names = "--abort", description = "End the copy, guest stays on the source (a ready copy is kept as a point-in-time copy).")
        boolean abort;
        @Option(names = "--pivot", description = "Switch the guest to the destination (waits for ready).")
        boolean pivot;
        @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "Change the copy rate limit (0: none).")
        Long bandwidth;
        @Option(names = "--timeout", paramLabel = "S", description = "With --pivot: fail if not ready within S seconds.")
        Integer timeout;

        @Override
        public Integer call() throws Exception {
            int actions = (info ? 1 : 0) + (abort ? 1 : 0) + (pivot ? 1 : 0) + (bandwidth != null ? 1 : 0);
            if (actions > 1) usage("give one of --info, --abort, --pivot, --bandwidth");
            checkTimeout(timeout);
            String path = diskPath(vm, disk) + "/job";
            if (abort) {
                JsonNode r = cli.client().post(path + "/abort", Map.of(), null);
                return done(r, capitalize(r.path("message").asText()));
            }
            if (pivot) {
                Map<String, Object> q = new LinkedHashMap<>();
                if (timeout != null) q.put("timeout", timeout);
                cli.client().setTimeoutMillis(0);
                JsonNode r = cli.client().post(path + "/pivot", q, null);
                String pause = r.hasNonNull("pivotPauseMillis") ? " (guest paused " + r.path("pivotPauseMillis").asLong() + " ms)" : "";
                return done(r, "Pivoted: " + vm + "/" + disk + " now uses " + r.path("dest").asText() + pause);
            }
            if (bandwidth != null) {
                JsonNode r = cli.client().post(path + "/bandwidth", Map.of(),
                        JsonNodeFactory.instance.objectNode().put("bandwidthMiB", bandwidth));
                return done(r, "Bandwidth of the copy of " + vm + "/" + disk + " set to "
                        + (bandwidth == 0 ? "unlimited" : bandwidth + " MiB/s"));
            }
            JsonNode r = cli.client().get(path);
            if (cli.json()) {
                cli.printJson(r);
                return JvirtCli.EXIT_OK;
            }
            PrintStream out = cli.out;
            out.printf("%-10s %s%n", "Phase:", r.path("phase").asText());
            out.printf("%-10s %s%n", "Source:", r.path("source").asText());
            out.printf("%-10s %s (%s%s)%n", "Dest:", r.path("dest").asText(), r.path("format").asText(),
                    r.path("shallow").asBoolean() ? ", shallow" : "");
            JsonNode p = r.path("progress");
            if (p.isObject()) {
                out.printf("%-10s %s%n", "Progress:", ProgressWatch.describe(p));
            }
            if (r.hasNonNull("message")) out.printf("%-10s %s%n", "Result:", r.path("message").asText());
            if (r.hasNonNull("lastError")) out.printf("%-10s %s%n", "Error:", r.path("lastError").asText());
            out.flush();
            return JvirtCli.EXIT_OK;
        }

        private static String capitalize(String s) {
            return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
        }
    }

    /**
     * Follows a disk's blockcopy events on a second connection and draws a progress bar on stderr. Opened before
     * the copy is requested, so no event is missed.
     */
    static final class ProgressWatch implements AutoCloseable {
        private final JvirtCli cli;
        private EventFollower events;
        private final CompletableFuture<JsonNode> readyOrEnded = new CompletableFuture<>();
        private volatile boolean drawn;
        private volatile boolean stop;

        private ProgressWatch(JvirtCli cli) {
            this.cli = cli;
        }

        static ProgressWatch open(JvirtCli cli, String vm, String disk) throws IOException {
            ProgressWatch w = new ProgressWatch(cli);
            w.events = EventFollower.open(cli, Map.of("vm", vm), (type, e) -> {
                if ("blockcopy".equals(type) && disk.equals(e.path("disk").asText())) {
                    w.draw(e);
                    String phase = e.path("phase").asText();
                    if (phase.equals("ready") || phase.equals("pivoted") || phase.equals("finished")
                            || phase.equals("aborted") || phase.equals("failed")) {
                        w.readyOrEnded.complete(e);
                    }
                }
                return true;
            }, w.readyOrEnded::completeExceptionally);
            return w;
        }

        /** The first ready (or end) event; null if {@code timeoutSeconds} passed first. */
        JsonNode awaitReady(Integer timeoutSeconds) throws Exception {
            try {
                return timeoutSeconds == null ? readyOrEnded.get() : readyOrEnded.get(timeoutSeconds, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                return null;
            }
        }

        private synchronized void draw(JsonNode e) {
            if (cli.json() || stop) return;
            JsonNode p = e.path("progress");
            String phase = e.path("phase").asText();
            String line = p.isObject() ? ProgressBar.bar(p.path("percent").asDouble()) + " " + describe(p) + "  " + phase : phase;
            cli.err.print("\r" + line + "   ");
            cli.err.flush();
            drawn = true;
        }

        static String describe(JsonNode p) {
            return String.format("%5.1f %% %s of %s, %s/s", p.path("percent").asDouble(),
                    ProgressBar.human(p.path("transferred").asLong()), ProgressBar.human(p.path("total").asLong()),
                    ProgressBar.human(p.path("rate").asLong()));
        }

        /** Ends the progress line. */
        synchronized void finish() {
            stop = true;
            if (drawn) {
                cli.err.println();
                cli.err.flush();
                drawn = false;
            }
        }

        @Override
        public void close() {
            finish();
            if (events != null) {
                events.close();
            }
        }
    }
}
