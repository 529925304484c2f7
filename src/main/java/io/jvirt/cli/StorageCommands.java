package io.jvirt.cli;

import static io.jvirt.cli.JvirtCli.EXIT_OK;
import static io.jvirt.cli.JvirtCli.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;

/** {@code jvirt vol ...} and {@code jvirt pool ...}: storage pools and their volumes, in virsh's spirit. */
final class StorageCommands {
    private StorageCommands() {
    }

    /** A command group ({@code vol}, {@code pool}) whose leaves reach the top command through it. */
    abstract static class Group implements Callable<Integer> {
        @ParentCommand
        JvirtCli cli;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().usage(cli.out);
            return JvirtCli.EXIT_USAGE;
        }
    }

    abstract static class Leaf implements Callable<Integer> {
        @ParentCommand
        Group group;

        JvirtCli cli() {
            return group.cli;
        }

        int print(JsonNode node, String message) {
            if (cli().json()) {
                cli().printJson(node);
            } else {
                cli().out.println(message);
                cli().out.flush();
            }
            return EXIT_OK;
        }
    }

    abstract static class VolLeaf extends Leaf {
        @Option(names = "--pool", paramLabel = "POOL", defaultValue = "default", description = "Pool (default: ${DEFAULT-VALUE}).")
        String pool;

        String volumes() {
            return "/v1/pools/" + ApiClient.segment(pool) + "/volumes";
        }

        String volume(String name) {
            return volumes() + "/" + ApiClient.segment(name);
        }
    }

    // ---- vol -----------------------------------------------------------------------------------------------

    @Command(name = "vol", description = "Manage volumes (disk images) of a storage pool.",
            subcommands = {VolList.class, VolCreate.class, VolInfo.class, VolResize.class, VolClone.class, VolDelete.class})
    static final class VolCmd extends Group {
    }

    @Command(name = "list", description = "List a pool's volumes: NAME FORMAT CAPACITY ALLOCATION BACKING.")
    static final class VolList extends VolLeaf {
        @Override
        public Integer call() throws Exception {
            JsonNode vols = cli().client().get(volumes());
            if (cli().json()) {
                cli().printJson(vols);
                return EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "FORMAT", "CAPACITY", "ALLOCATION", "BACKING"});
            for (JsonNode v : vols) {
                rows.add(new String[] {text(v, "name"), text(v, "format"), bytes(v.path("virtualSize")),
                    bytes(v.path("allocation")), text(v, "backingFile")});
            }
            cli().printTable(rows);
            return EXIT_OK;
        }
    }

    @Command(name = "create", description = "Create a qcow2 or raw volume, optionally on a backing volume (an overlay).")
    static final class VolCreate extends VolLeaf {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--size", paramLabel = "SIZE", description = "Virtual size: bytes or with K, M, G, T (binary). "
                + "Optional with --backing (then the backing volume's size).")
        String size;

        @Option(names = "--format", paramLabel = "FMT", defaultValue = "qcow2", description = "qcow2 (default) or raw.")
        String format;

        @Option(names = "--backing", paramLabel = "VOL", description = "Backing volume in the same pool.")
        String backing;

        @Option(names = "--backing-format", paramLabel = "FMT",
                description = "The backing volume's format (checked against it; default: as qemu-img detects it).")
        String backingFormat;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", name).put("format", format);
            if (size != null) body.put("size", size);
            if (backing != null) body.put("backing", backing);
            if (backingFormat != null) body.put("backingFormat", backingFormat);
            JsonNode v = cli().client().post(volumes(), null, body);
            return print(v, "Volume " + text(v, "name") + " created in pool " + pool + " (" + text(v, "format") + ", "
                    + bytes(v.path("virtualSize")) + ")");
        }
    }

    @Command(name = "info", description = "Show a volume: format, sizes, backing chain.")
    static final class VolInfo extends VolLeaf {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode v = cli().client().get(volume(name));
            if (cli().json()) {
                cli().printJson(v);
                return EXIT_OK;
            }
            StringBuilder sb = new StringBuilder();
            line(sb, "Name", text(v, "name"));
            line(sb, "Pool", text(v, "pool"));
            line(sb, "Path", text(v, "path"));
            line(sb, "Format", text(v, "format"));
            line(sb, "Capacity", bytes(v.path("virtualSize")));
            line(sb, "Allocation", bytes(v.path("allocation")));
            String backing = text(v, "backingFile");
            line(sb, "Backing", backing.equals("-") ? "-" : backing + " (" + text(v, "backingFormat") + ")");
            for (JsonNode b : v.path("backingChain")) {
                line(sb, "  chain", text(b, "path") + " (" + text(b, "format") + ", " + bytes(b.path("virtualSize")) + ")");
            }
            cli().out.print(sb);
            cli().out.flush();
            return EXIT_OK;
        }
    }

    @Command(name = "resize", description = "Grow a volume to SIZE (shrinking is refused).")
    static final class VolResize extends VolLeaf {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "SIZE", description = "New virtual size: bytes or with K, M, G, T.")
        String size;

        @Override
        public Integer call() throws Exception {
            JsonNode v = cli().client().post(volume(name) + "/resize", null,
                    JsonNodeFactory.instance.objectNode().put("size", size));
            return print(v, "Volume " + name + " resized to " + bytes(v.path("virtualSize")));
        }
    }

    @Command(name = "clone", description = "Copy a volume (its backing chain flattened) to a new volume.")
    static final class VolClone extends VolLeaf {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "NEWNAME")
        String target;

        @Option(names = "--format", paramLabel = "FMT", description = "Format of the copy (default: the source's).")
        String format;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", target);
            if (format != null) body.put("format", format);
            JsonNode v = cli().client().post(volume(name) + "/clone", null, body);
            return print(v, "Volume " + name + " cloned to " + text(v, "name"));
        }
    }

    @Command(name = "delete", description = "Delete a volume no VM uses and no other volume is built on.")
    static final class VolDelete extends VolLeaf {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode r = cli().client().delete(volume(name));
            return print(r, "Volume " + name + " deleted");
        }
    }

    // ---- pool ----------------------------------------------------------------------------------------------

    @Command(name = "pool", description = "Show, define and undefine storage pools.",
            subcommands = {PoolList.class, PoolInfo.class, PoolDefine.class, PoolUndefine.class})
    static final class PoolCmd extends Group {
    }

    @Command(name = "list", description = "List pools: NAME PATH VOLUMES AVAILABLE.")
    static final class PoolList extends Leaf {
        @Override
        public Integer call() throws Exception {
            JsonNode pools = cli().client().get("/v1/pools");
            if (cli().json()) {
                cli().printJson(pools);
                return EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "PATH", "VOLUMES", "AVAILABLE"});
            for (JsonNode p : pools) {
                rows.add(new String[] {text(p, "name"), text(p, "path"), text(p, "volumes"), bytes(p.path("available"))});
            }
            cli().printTable(rows);
            return EXIT_OK;
        }
    }

    @Command(name = "info", description = "Show a pool.")
    static final class PoolInfo extends Leaf {
        @Parameters(paramLabel = "POOL", defaultValue = "default")
        String pool;

        @Override
        public Integer call() throws Exception {
            JsonNode p = cli().client().get("/v1/pools/" + ApiClient.segment(pool));
            if (cli().json()) {
                cli().printJson(p);
                return EXIT_OK;
            }
            StringBuilder sb = new StringBuilder();
            line(sb, "Name", text(p, "name"));
            line(sb, "Path", text(p, "path"));
            line(sb, "Volumes", text(p, "volumes"));
            line(sb, "Capacity", bytes(p.path("capacity")));
            line(sb, "Available", bytes(p.path("available")));
            cli().out.print(sb);
            cli().out.flush();
            return EXIT_OK;
        }
    }

    @Command(name = "define", description = "Make an existing directory a pool.")
    static final class PoolDefine extends Leaf {
        @Parameters(index = "0", paramLabel = "POOL")
        String pool;

        @Parameters(index = "1", paramLabel = "DIR", description = "An existing directory (not inside another pool).")
        String dir;

        @Override
        public Integer call() throws Exception {
            String abs = java.nio.file.Path.of(dir).toAbsolutePath().normalize().toString();
            JsonNode p = cli().client().post("/v1/pools", null,
                    JsonNodeFactory.instance.objectNode().put("name", pool).put("path", abs));
            return print(p, "Pool " + text(p, "name") + " defined at " + text(p, "path"));
        }
    }

    @Command(name = "undefine", description = "Forget a pool (its directory and images stay).")
    static final class PoolUndefine extends Leaf {
        @Parameters(paramLabel = "POOL")
        String pool;

        @Override
        public Integer call() throws Exception {
            JsonNode r = cli().client().delete("/v1/pools/" + ApiClient.segment(pool));
            return print(r, "Pool " + pool + " undefined");
        }
    }

    // ---- formatting ----------------------------------------------------------------------------------------

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append(':').append(" ".repeat(Math.max(1, 12 - key.length() - 1))).append(value).append('\n');
    }

    /** Bytes as virsh shows them: "64.00 MiB". */
    static String bytes(JsonNode n) {
        if (n == null || !n.isNumber()) return "-";
        double v = n.asLong();
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n.asLong() + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
