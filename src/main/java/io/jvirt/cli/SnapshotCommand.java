package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** jvirt snapshot create|list|info|revert|delete: VM snapshots through /v1/vms/{name}/snapshots. */
@Command(name = "snapshot", description = "Create, list, inspect, revert and delete VM snapshots.",
        subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCmd.class, SnapshotCommand.Info.class,
            SnapshotCommand.Revert.class, SnapshotCommand.Delete.class})
final class SnapshotCommand implements Callable<Integer> {
    @ParentCommand
    JvirtCli cli;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a subcommand is needed: create, list, info, revert, delete");
    }

    static String path(String vm) {
        return JvirtCli.vmPath(vm) + "/snapshots";
    }

    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        SnapshotCommand parent;

        JvirtCli cli() {
            return parent.cli;
        }

        int done(JsonNode node, String message) {
            if (cli().json()) {
                cli().printJson(node);
            } else {
                cli().out.println(message);
                cli().out.flush();
            }
            return JvirtCli.EXIT_OK;
        }

        /** Long actions are operations: wait for the end (progress is on the event stream). */
        JsonNode operation(String method, String path, JsonNode body, String what) throws Exception {
            JsonNode op = cli().client().call(method, path, Map.of("wait", "true"), body);
            return cli().awaitOperation(op, null, what);
        }
    }

    @Command(name = "create", description = "Snapshot a VM's disks (internal by default), optionally with its memory.")
    static final class Create extends Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "NAME")
        String name;
        @Option(names = "--disk-only", description = "Disks only (the default), no memory.")
        boolean diskOnly;
        @Option(names = "--memory", description = "Also save RAM and device state (running VM; internal: in the qcow2 disks, with --external: a .mem file).")
        boolean memory;
        @Option(names = "--external", description = "Freeze the current images and put new qcow2 overlays on top.")
        boolean external;
        @Option(names = "--disk", split = ",", paramLabel = "DISK", description = "Only these disks (default: all writable).")
        List<String> disks;
        @Option(names = "--quiesce", description = "Freeze guest filesystems through the guest agent meanwhile.")
        boolean quiesce;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", name);
            if (diskOnly) body.put("diskOnly", true);
            if (memory) body.put("memory", true);
            if (external) body.put("external", true);
            if (quiesce) body.put("quiesce", true);
            if (disks != null) {
                var arr = body.putArray("disks");
                disks.forEach(arr::add);
            }
            JsonNode op = operation("POST", path(vm), body, "snapshot " + name + " of VM " + vm);
            JsonNode s = op.path("result");
            String pause = s.hasNonNull("pauseMillis") ? " (guest paused " + s.path("pauseMillis").asLong() + " ms)" : "";
            return done(op, "Snapshot " + name + " of VM " + vm + " created" + pause);
        }
    }

    @Command(name = "list", description = "List a VM's snapshots: NAME KIND MEMORY CREATED PARENT (--tree: as a tree).")
    static final class ListCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;
        @Option(names = "--tree", description = "Show parent links as a tree; * marks the current snapshot.")
        boolean tree;

        @Override
        public Integer call() throws Exception {
            JsonNode all = cli().client().get(path(vm));
            if (cli().json()) {
                cli().printJson(all);
                return JvirtCli.EXIT_OK;
            }
            String current = all.path("current").asText(null);
            if (tree) {
                StringBuilder sb = new StringBuilder();
                printTree(all.path("snapshots"), null, "", current, sb);
                cli().out.print(sb);
                cli().out.flush();
                return JvirtCli.EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "KIND", "MEMORY", "CREATED", "PARENT"});
            for (JsonNode s : all.path("snapshots")) {
                rows.add(new String[] {s.path("name").asText() + (s.path("name").asText().equals(current) ? " *" : ""),
                    s.path("kind").asText(), s.path("memory").asBoolean() ? "yes" : "no", s.path("createdAt").asText(),
                    s.path("parent").asText("-")});
            }
            cli().printTable(rows);
            return JvirtCli.EXIT_OK;
        }

        static void printTree(JsonNode all, String parent, String indent, String current, StringBuilder sb) {
            for (JsonNode s : all) {
                String p = s.hasNonNull("parent") ? s.path("parent").asText() : null;
                if (p == null ? parent == null : p.equals(parent)) {
                    String n = s.path("name").asText();
                    sb.append(indent).append(parent == null ? "" : "`- ").append(n)
                            .append(" (").append(s.path("kind").asText()).append(s.path("memory").asBoolean() ? ", memory" : "")
                            .append(")").append(n.equals(current) ? " *" : "").append('\n');
                    printTree(all, n, parent == null ? "  " : indent + "   ", current, sb);
                }
            }
        }
    }

    @Command(name = "info", description = "Show one snapshot.")
    static final class Info extends Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode s = cli().client().get(path(vm) + "/" + ApiClient.segment(name));
            if (cli().json()) {
                cli().printJson(s);
                return JvirtCli.EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            for (String f : List.of("name", "kind", "memory", "parent", "createdAt", "vmState", "pauseMillis", "memoryFile")) {
                rows.add(new String[] {f + ":", s.path(f).asText("-")});
            }
            for (JsonNode d : s.path("disks")) {
                rows.add(new String[] {"disk " + d.path("disk").asText() + ":", d.path("image").asText()
                        + (d.hasNonNull("overlay") ? " -> " + d.path("overlay").asText() : "")});
            }
            cli().printTable(rows);
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "revert", description = "Return the VM to a snapshot (disks, and memory for memory snapshots).")
    static final class Revert extends Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode op = operation("POST", path(vm) + "/" + ApiClient.segment(name) + "/revert", null, "revert of VM " + vm);
            return done(op, "VM " + vm + " reverted to snapshot " + name);
        }
    }

    @Command(name = "delete", description = "Delete a snapshot (external: merges the layer above its frozen image into it).")
    static final class Delete extends Sub {
        @Parameters(index = "0", paramLabel = "VM")
        String vm;
        @Parameters(index = "1", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode op = operation("DELETE", path(vm) + "/" + ApiClient.segment(name), null, "delete of snapshot " + name);
            return done(op, "Snapshot " + name + " of VM " + vm + " deleted");
        }
    }
}
