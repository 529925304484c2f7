package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** jvirt migrate and migrate-cancel: live migration to another jvirtd (docs/migration.md). */
final class MigrateCommands {
    private MigrateCommands() {
    }

    @Command(name = "migrate", description = "Move a running VM to another jvirtd (peer to peer over mutual TLS); "
            + "waits and shows progress; Ctrl-C cancels it.")
    static final class MigrateCmd extends CliCommand.OnVm {
        @Parameters(index = "1", arity = "0..1", paramLabel = "DEST", description = "tls://HOST:PORT of the destination "
                + "jvirtd (not with --resume).")
        String dest;
        @Option(names = "--copy-storage-all", description = "Copy every writable disk into the destination's default "
                + "pool (otherwise every disk must be shared).")
        boolean copyAll;
        @Option(names = "--copy-storage-inc", description = "Copy only the top image of each disk; the destination has the "
                + "base images at the same paths (same format and size, checked).")
        boolean copyInc;
        @Option(names = "--postcopy", description = "Switch to post-copy once the first pass over RAM is done: the guest "
                + "runs on the destination, which pulls the rest (shared storage only).")
        boolean postcopy;
        @Option(names = "--postcopy-after-precopy", description = "Enable post-copy, switch only if pre-copy does not "
                + "converge (or on `jvirt migrate-postcopy`).")
        boolean postcopyAfterPrecopy;
        @Option(names = "--resume", description = "Recover this VM's post-copy paused by a broken link, and wait for it.")
        boolean resume;
        @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "RAM and disk rate limit (default: none).")
        Long bandwidth;
        @Option(names = "--max-downtime", paramLabel = "ms", description = "Longest pause at the switch-over; a "
                + "migration that does not converge gets up to this (default: QEMU's 300 ms).")
        Long maxDowntime;
        @Option(names = "--auto-converge", description = "Throttle the guest's vCPUs if RAM does not converge.")
        boolean autoConverge;
        @Option(names = "--parallel", paramLabel = "N", description = "Move RAM over N parallel TLS connections "
                + "(QEMU's multifd, 1 to 16; not with post-copy). Default: one.")
        Integer parallel;
        @Option(names = "--keep-source", description = "Keep the VM defined here (shut off, reason migrated).")
        boolean keepSource;
        @Option(names = "--undefine-source", description = "Undefine the VM here afterwards (the default).")
        boolean undefineSource;
        @Option(names = "--persistent", description = "Define the VM on the destination (always the case).")
        boolean persistent;
        @Option(names = "--timeout", paramLabel = "S", description = "Cancel the migration if it is not done in S seconds.")
        Long timeout;
        @Option(names = "--no-wait", description = "Return once the migration started (an operation).")
        boolean noWait;
        @Mixin
        Options.Progress progress;

        private String message;

        @Override
        JsonNode run() throws Exception {
            if (copyInc && copyAll) throw usage("--copy-storage-all and --copy-storage-inc exclude each other");
            if (postcopy && postcopyAfterPrecopy) throw usage("--postcopy and --postcopy-after-precopy exclude each other");
            if (resume && dest != null) throw usage("--resume takes the VM only: the destination is the paused migration's");
            if (!resume && dest == null) throw usage("missing DEST (tls://HOST:PORT of the destination jvirtd)");
            if (keepSource && undefineSource) throw usage("--keep-source and --undefine-source exclude each other");
            ObjectNode body = Json.object().put("destination", dest);
            if (copyAll) body.put("copyStorage", "all");
            if (copyInc) body.put("copyStorage", "inc");
            if (bandwidth != null) body.put("bandwidthMiB", bandwidth);
            if (maxDowntime != null) body.put("maxDowntimeMs", maxDowntime);
            if (autoConverge) body.put("autoConverge", true);
            if (parallel != null) body.put("parallel", parallel);
            if (keepSource) body.put("keepSource", true);
            if (timeout != null) body.put("timeoutSeconds", timeout);
            if (postcopy) body.put("postcopy", true);
            if (postcopyAfterPrecopy) body.put("postcopyAfterPrecopy", true);
            String path = CliCommand.vmPath(vm) + "/migration";
            if (noWait) {
                JsonNode op = api().post(path, Map.of(), body);
                message = "Migration of " + vm + " to " + dest + " started (operation " + op.path("id").asText()
                        + "); `jvirt migrate-cancel " + vm + "` cancels it";
                return op;
            }
            boolean draw = !session().json() && !progress.off;
            Line line = new Line();
            EventFollower events = EventFollower.open(session(), Map.of("vm", vm), (type, e) -> {
                if ("migration".equals(type) && draw) {
                    session().err.print("\r" + line.describe(e) + "   ");
                    session().err.flush();
                }
                return true;
            }, e -> { });
            JsonNode op;
            if (resume) {
                JsonNode p = api().post(CliCommand.vmPath(vm) + "/migration/resume", Map.of(), null);
                dest = p.path("destination").asText();
                op = api().get("/v1/operations/" + ApiClient.segment(p.path("id").asText()), Map.of());
            } else {
                op = api().post(path, Map.of(), body);
            }
            // Ctrl-C: cancel the migration (before its Finish; after it the VM is already on the destination)
            Thread cancel = new Thread(() -> {
                try {
                    api().post(CliCommand.vmPath(vm) + "/migration/cancel", Map.of(), null);
                } catch (Exception e) {
                    // the migration may have ended meanwhile
                }
            });
            Runtime.getRuntime().addShutdownHook(cancel);
            try {
                JsonNode done = Operations.await(api(), op, null, "the migration of " + vm);
                JsonNode r = done.path("result");
                message = "Migrated " + vm + " to " + dest + " in " + r.path("totalTimeMs").asLong() + " ms (downtime "
                        + r.path("downtimeMs").asLong() + " ms, " + Bytes.format(r.path("ram").path("transferred").asLong(), 1)
                        + " of RAM)";
                return done;
            } finally {
                Runtime.getRuntime().removeShutdownHook(cancel);
                events.close();
                if (draw && line.drawn) {
                    session().err.println();
                }
            }
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line(message);
        }
    }

    /** One progress line: RAM and disks, rates, expected downtime, pass, ETA (never running backwards: the daemon's). */
    static final class Line {
        boolean drawn;

        String describe(JsonNode p) {
            drawn = true;
            JsonNode ram = p.path("ram");
            StringBuilder b = new StringBuilder(ProgressBar.bar(p.path("percent").asDouble())).append(' ')
                    .append(String.format(Locale.ROOT, "%3d %% ", p.path("percent").asInt()))
                    .append("RAM ").append(Bytes.format(ram.path("transferred").asLong(), 1)).append('/')
                    .append(Bytes.format(ram.path("total").asLong(), 1)).append(" (left ")
                    .append(Bytes.format(ram.path("remaining").asLong(), 1)).append(") ")
                    .append(Bytes.format(ram.path("rate").asLong(), 1)).append("/s, dirty ")
                    .append(Bytes.format(p.path("dirtyRate").asLong(), 1)).append("/s");
            for (JsonNode d : p.path("disks")) {
                b.append(" | ").append(d.path("name").asText()).append(' ').append(Bytes.format(d.path("transferred").asLong(), 1))
                        .append('/').append(Bytes.format(d.path("total").asLong(), 1));
            }
            if (p.hasNonNull("expectedDowntimeMs")) b.append(" | downtime ~").append(p.path("expectedDowntimeMs").asLong()).append(" ms");
            b.append(" | pass ").append(p.path("pass").asLong());
            if (p.hasNonNull("etaSeconds")) b.append(" | ETA ").append(p.path("etaSeconds").asLong()).append(" s");
            return b.append(" | ").append(p.path("phase").asText()).toString();
        }
    }

    @Command(name = "migrate-postcopy", description = "Switch a VM's migration under way to post-copy (it was started "
            + "with --postcopy-after-precopy or --postcopy): the guest runs on the destination from now on.")
    static final class MigratePostcopyCmd extends CliCommand.OnVm {
        @Override
        JsonNode run() throws Exception {
            return api().post(CliCommand.vmPath(vm) + "/migration/postcopy", Map.of(), null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Switching the migration of " + vm + " to post-copy");
        }
    }

    @Command(name = "migrate-cancel", description = "Cancel a VM's migration under way; the guest runs on here.")
    static final class MigrateCancelCmd extends CliCommand.OnVm {
        @Override
        JsonNode run() throws Exception {
            return api().post(CliCommand.vmPath(vm) + "/migration/cancel", Map.of(), null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Cancelling the migration of " + vm);
        }
    }
}
