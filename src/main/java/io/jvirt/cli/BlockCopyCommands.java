package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** jvirt blockcopy and jvirt blockjob: live copy of a running VM's disk (virsh blockcopy / blockjob). */
final class BlockCopyCommands {
    private BlockCopyCommands() {
    }

    static String diskPath(String vm, String disk) {
        return CliCommand.vmPath(vm) + "/disks/" + ApiClient.segment(disk);
    }

    /** Byte sizes as options: {@code 65536} or {@code 64K}. */
    static final class Size implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Bytes.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Command(name = "blockcopy", description = "Copy a running VM's disk to a new image while the guest runs; "
            + "optionally switch the guest to it (--pivot).")
    static final class BlockCopyCmd extends CliCommand.OnVm {
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
        @Option(names = "--granularity", paramLabel = "BYTES", converter = Size.class,
                description = "Dirty-tracking granularity (power of 2; K and M allowed).")
        Long granularity;
        @Option(names = "--buf-size", paramLabel = "BYTES", converter = Size.class,
                description = "Copy buffer size (K and M allowed).")
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
        @Mixin
        Options.Progress progress;

        private String message;

        @Override
        JsonNode run() throws Exception {
            if (pivot && finish) throw usage("--pivot and --finish exclude each other");
            Options.positive(spec, "--timeout", timeout);
            ObjectNode body = Json.object().put("dest", dest);
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
            String copy = vm + "/" + disk;
            if (!waitReady && !pivot && !finish) {
                JsonNode op = api().post(path, Map.of(), body);
                message = "Block copy of " + copy + " to " + dest + " started (operation " + op.path("id").asText()
                        + "); see `jvirt blockjob " + vm + " " + disk + " --info`";
                return op;
            }
            try (ProgressWatch watch = ProgressWatch.open(session(), vm, disk, !session().json() && !progress.off)) {
                JsonNode op = api().post(path, Map.of(), body);
                if (pivot || finish) {
                    JsonNode done = Operations.await(api(), op, null, "the copy of " + copy);
                    watch.finish();
                    JsonNode r = done.path("result");
                    String pause = r.hasNonNull("pivotPauseMillis") ? " (guest paused " + r.path("pivotPauseMillis").asLong() + " ms)" : "";
                    message = pivot ? "Pivoted: " + copy + " now uses " + dest + pause
                            : "Finished: " + dest + " is a point-in-time copy; " + copy + " stays on " + r.path("source").asText();
                    return done;
                }
                JsonNode ended = watch.awaitReady(timeout);
                if (ended == null) { // timed out: like virsh, give up the copy
                    api().post(diskPath(vm, disk) + "/job/abort", Map.of(), null);
                    throw new CliException(JvirtCli.EXIT_TIMEOUT, "the copy was not ready within " + timeout
                            + " s and was aborted");
                }
                watch.finish();
                if (!"ready".equals(ended.path("phase").asText())) {
                    throw new CliException(JvirtCli.EXIT_QEMU, "the copy ended (" + ended.path("phase").asText()
                            + "): " + ended.path("message").asText());
                }
                message = "Copy of " + copy + " is ready: source and " + dest + " are in sync; `jvirt blockjob " + vm
                        + " " + disk + " --pivot` switches the guest, --abort keeps it on the source";
                return api().get(diskPath(vm, disk) + "/job");
            }
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line(message);
        }
    }

    @Command(name = "blockjob", description = "Show, pivot, abort or throttle a disk's block copy.")
    static final class BlockJobCmd extends CliCommand.OnVm {
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
        JsonNode run() throws Exception {
            int actions = (info ? 1 : 0) + (abort ? 1 : 0) + (pivot ? 1 : 0) + (bandwidth != null ? 1 : 0);
            if (actions > 1) throw usage("give one of --info, --abort, --pivot, --bandwidth");
            Options.positive(spec, "--timeout", timeout);
            String path = diskPath(vm, disk) + "/job";
            if (abort) return api().post(path + "/abort", Map.of(), null);
            if (pivot) {
                Map<String, Object> q = new LinkedHashMap<>();
                if (timeout != null) q.put("timeout", timeout);
                return api().post(path + "/pivot", q, null);
            }
            if (bandwidth != null) {
                return api().post(path + "/bandwidth", Map.of(), Json.object().put("bandwidthMiB", bandwidth));
            }
            return api().get(path);
        }

        @Override
        void show(JsonNode r, Output out) {
            if (abort) {
                String m = r.path("message").asText();
                out.line(m.isEmpty() ? m : Character.toUpperCase(m.charAt(0)) + m.substring(1));
            } else if (pivot) {
                String pause = r.hasNonNull("pivotPauseMillis") ? " (guest paused " + r.path("pivotPauseMillis").asLong() + " ms)" : "";
                out.line("Pivoted: " + vm + "/" + disk + " now uses " + r.path("dest").asText() + pause);
            } else if (bandwidth != null) {
                out.line("Bandwidth of the copy of " + vm + "/" + disk + " set to "
                        + (bandwidth == 0 ? "unlimited" : bandwidth + " MiB/s"));
            } else {
                Output.Block b = out.block(11)
                        .add("Phase", r.path("phase").asText())
                        .add("Source", r.path("source").asText())
                        .add("Dest", r.path("dest").asText() + " (" + r.path("format").asText()
                                + (r.path("shallow").asBoolean() ? ", shallow" : "") + ")");
                if (r.path("progress").isObject()) b.add("Progress", ProgressWatch.describe(r.path("progress")));
                if (r.hasNonNull("message")) b.add("Result", r.path("message").asText());
                if (r.hasNonNull("lastError")) b.add("Error", r.path("lastError").asText());
                b.print();
            }
        }
    }

    /**
     * Follows a disk's blockcopy events on a second connection and draws a progress bar on stderr. Opened before
     * the copy is requested, so no event is missed.
     */
    static final class ProgressWatch implements AutoCloseable {
        private final Session session;
        private final boolean draw;
        private EventFollower events;
        private final CompletableFuture<JsonNode> readyOrEnded = new CompletableFuture<>();
        private volatile boolean drawn;
        private volatile boolean stop;

        private ProgressWatch(Session session, boolean draw) {
            this.session = session;
            this.draw = draw;
        }

        static ProgressWatch open(Session session, String vm, String disk, boolean draw) throws IOException, CliException {
            ProgressWatch w = new ProgressWatch(session, draw);
            w.events = EventFollower.open(session, Map.of("vm", vm), (type, e) -> {
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
            if (!draw || stop) return;
            JsonNode p = e.path("progress");
            String phase = e.path("phase").asText();
            String line = p.isObject() ? ProgressBar.bar(p.path("percent").asDouble()) + " " + describe(p) + "  " + phase : phase;
            session.err.print("\r" + line + "   ");
            session.err.flush();
            drawn = true;
        }

        static String describe(JsonNode p) {
            return String.format(java.util.Locale.ROOT, "%5.1f %% %s of %s, %s/s", p.path("percent").asDouble(),
                    Bytes.format(p.path("transferred").asLong(), 1), Bytes.format(p.path("total").asLong(), 1),
                    Bytes.format(p.path("rate").asLong(), 1));
        }

        /** Ends the progress line. */
        synchronized void finish() {
            stop = true;
            if (drawn) {
                session.err.println();
                session.err.flush();
                drawn = false;
            }
        }

        @Override
        public void close() {
            finish();
            if (events != null) events.close();
        }
    }
}
