package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jvirt vol ...} and {@code jvirt pool ...}: storage pools and their volumes, in virsh's spirit. */
final class StorageCommands {
    private StorageCommands() {
    }

    // ---- vol -----------------------------------------------------------------------------------------------

    /** A command on one volume of {@code --pool}, named by its first argument. */
    abstract static class OnVolume extends CliCommand {
        @Mixin
        Options.Pool pool;

        @Parameters(index = "0", paramLabel = "NAME", completionCandidates = Completion.VolumeNames.class)
        String name;

        String path() {
            return pool.volume(name);
        }
    }

    @Command(name = "vol", description = "Manage volumes (disk images) of a storage pool.",
            subcommands = {VolList.class, VolCreate.class, VolInfo.class, VolResize.class, VolClone.class, VolDelete.class})
    static final class VolCmd {
    }

    @Command(name = "list", description = "List a pool's volumes: NAME FORMAT CAPACITY ALLOCATION BACKING.")
    static final class VolList extends CliCommand {
        @Mixin
        Options.Pool pool;

        @Override
        JsonNode run() throws Exception {
            return api().get(pool.volumes());
        }

        @Override
        void show(JsonNode vols, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "FORMAT", "CAPACITY", "ALLOCATION", "BACKING"});
            for (JsonNode v : vols) {
                rows.add(new String[] {text(v, "name"), text(v, "format"), Bytes.format(v.path("virtualSize")),
                    Bytes.format(v.path("allocation")), text(v, "backingFile")});
            }
            out.table(rows);
        }
    }

    @Command(name = "create", description = "Create a qcow2 or raw volume, optionally on a backing volume (an overlay).")
    static final class VolCreate extends CliCommand {
        @Mixin
        Options.Pool pool;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--size", paramLabel = "SIZE", description = "Virtual size: bytes or with K, M, G, T (binary). "
                + "Optional with --backing (then the backing volume's size).")
        String size;

        @Option(names = "--format", paramLabel = "FMT", defaultValue = "qcow2", description = "qcow2 (default) or raw.")
        String format;

        @Option(names = "--backing", paramLabel = "VOL", completionCandidates = Completion.VolumeNames.class,
                description = "Backing volume in the same pool.")
        String backing;

        @Option(names = "--backing-format", paramLabel = "FMT",
                description = "The backing volume's format (checked against it; default: as qemu-img detects it).")
        String backingFormat;

        @Override
        JsonNode run() throws Exception {
            ObjectNode body = Json.object().put("name", name).put("format", format);
            if (size != null) body.put("size", size);
            if (backing != null) body.put("backing", backing);
            if (backingFormat != null) body.put("backingFormat", backingFormat);
            return api().post(pool.volumes(), null, body);
        }

        @Override
        void show(JsonNode v, Output out) {
            out.line("Volume " + text(v, "name") + " created in pool " + pool.name + " (" + text(v, "format") + ", "
                    + Bytes.format(v.path("virtualSize")) + ")");
        }
    }

    @Command(name = "info", description = "Show a volume: format, sizes, backing chain.")
    static final class VolInfo extends OnVolume {
        @Override
        JsonNode run() throws Exception {
            return api().get(path());
        }

        @Override
        void show(JsonNode v, Output out) {
            String backing = text(v, "backingFile");
            Output.Block b = out.block(12)
                    .add("Name", text(v, "name"))
                    .add("Pool", text(v, "pool"))
                    .add("Path", text(v, "path"))
                    .add("Format", text(v, "format"))
                    .add("Capacity", Bytes.format(v.path("virtualSize")))
                    .add("Allocation", Bytes.format(v.path("allocation")))
                    .add("Backing", backing.equals("-") ? "-" : backing + " (" + text(v, "backingFormat") + ")");
            for (JsonNode c : v.path("backingChain")) {
                b.add("  chain", text(c, "path") + " (" + text(c, "format") + ", " + Bytes.format(c.path("virtualSize")) + ")");
            }
            b.print();
        }
    }

    @Command(name = "resize", description = "Grow a volume to SIZE (shrinking is refused).")
    static final class VolResize extends OnVolume {
        @Parameters(index = "1", paramLabel = "SIZE", description = "New virtual size: bytes or with K, M, G, T.")
        String size;

        @Override
        JsonNode run() throws Exception {
            return api().post(path() + "/resize", null, Json.object().put("size", size));
        }

        @Override
        void show(JsonNode v, Output out) {
            out.line("Volume " + name + " resized to " + Bytes.format(v.path("virtualSize")));
        }
    }

    @Command(name = "clone", description = "Copy a volume (its backing chain flattened) to a new volume.")
    static final class VolClone extends OnVolume {
        @Parameters(index = "1", paramLabel = "NEWNAME")
        String target;

        @Option(names = "--format", paramLabel = "FMT", description = "Format of the copy (default: the source's).")
        String format;

        @Override
        JsonNode run() throws Exception {
            ObjectNode body = Json.object().put("name", target);
            if (format != null) body.put("format", format);
            return api().post(path() + "/clone", null, body);
        }

        @Override
        void show(JsonNode v, Output out) {
            out.line("Volume " + name + " cloned to " + text(v, "name"));
        }
    }

    @Command(name = "delete", description = "Delete a volume no VM uses and no other volume is built on.")
    static final class VolDelete extends OnVolume {
        @Override
        JsonNode run() throws Exception {
            return api().delete(path());
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Volume " + name + " deleted");
        }
    }

    // ---- pool ----------------------------------------------------------------------------------------------

    @Command(name = "pool", description = "Show, define and undefine storage pools.",
            subcommands = {PoolList.class, PoolInfo.class, PoolDefine.class, PoolUndefine.class})
    static final class PoolCmd {
    }

    static String poolPath(String pool) {
        return "/v1/pools/" + ApiClient.segment(pool);
    }

    @Command(name = "list", description = "List pools: NAME PATH VOLUMES AVAILABLE.")
    static final class PoolList extends CliCommand {
        @Override
        JsonNode run() throws Exception {
            return api().get("/v1/pools");
        }

        @Override
        void show(JsonNode pools, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "PATH", "VOLUMES", "AVAILABLE"});
            for (JsonNode p : pools) {
                rows.add(new String[] {text(p, "name"), text(p, "path"), text(p, "volumes"), Bytes.format(p.path("available"))});
            }
            out.table(rows);
        }
    }

    @Command(name = "info", description = "Show a pool.")
    static final class PoolInfo extends CliCommand {
        @Parameters(paramLabel = "POOL", defaultValue = "default", completionCandidates = Completion.PoolNames.class)
        String pool;

        @Override
        JsonNode run() throws Exception {
            return api().get(poolPath(pool));
        }

        @Override
        void show(JsonNode p, Output out) {
            out.block(12)
                    .add("Name", text(p, "name"))
                    .add("Path", text(p, "path"))
                    .add("Volumes", text(p, "volumes"))
                    .add("Capacity", Bytes.format(p.path("capacity")))
                    .add("Available", Bytes.format(p.path("available")))
                    .print();
        }
    }

    @Command(name = "define", description = "Make an existing directory a pool.")
    static final class PoolDefine extends CliCommand {
        @Parameters(index = "0", paramLabel = "POOL")
        String pool;

        @Parameters(index = "1", paramLabel = "DIR", description = "An existing directory (not inside another pool).")
        Path dir;

        @Override
        JsonNode run() throws Exception {
            String abs = dir.toAbsolutePath().normalize().toString();
            return api().post("/v1/pools", null, Json.object().put("name", pool).put("path", abs));
        }

        @Override
        void show(JsonNode p, Output out) {
            out.line("Pool " + text(p, "name") + " defined at " + text(p, "path"));
        }
    }

    @Command(name = "undefine", description = "Forget a pool (its directory and images stay).")
    static final class PoolUndefine extends CliCommand {
        @Parameters(paramLabel = "POOL", completionCandidates = Completion.PoolNames.class)
        String pool;

        @Override
        JsonNode run() throws Exception {
            return api().delete(poolPath(pool));
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Pool " + pool + " undefined");
        }
    }
}
