package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jvirt snapshot create|list|info|revert|delete}: VM snapshots through /v1/vms/{name}/snapshots. */
@Command(name = "snapshot", description = "Create, list, inspect, revert and delete VM snapshots.",
        subcommands = {SnapshotCommands.Create.class, SnapshotCommands.ListCmd.class, SnapshotCommands.Info.class,
            SnapshotCommands.Revert.class, SnapshotCommands.Delete.class})
final class SnapshotCommands {
    static String path(String vm) {
        return CliCommand.vmPath(vm) + "/snapshots";
    }

    static String path(String vm, String snapshot) {
        return path(vm) + "/" + ApiClient.segment(snapshot);
    }

    /** create, revert and delete: operations on the VM's job slot, waited for unless --no-wait. */
    abstract static class SnapshotOperation extends CliCommand.OnVm {
        @Mixin
        Options.Wait wait;

        @Mixin
        Options.Queue queue;

        JsonNode start(String method, String path, JsonNode body, String what) throws Exception {
            return Operations.run(api(), method, path, queue.addTo(new LinkedHashMap<>()), body, wait, what);
        }

        /** {@code done} once finished; with --no-wait, that the operation runs. */
        void say(Output out, JsonNode op, String done, String running) {
            out.line(wait.noWait ? running + " (operation " + Output.text(op, "id") + ")" : done);
        }
    }

    @Command(name = "create", description = "Snapshot a VM's disks (internal by default), optionally with its memory.")
    static final class Create extends SnapshotOperation {
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
        JsonNode run() throws Exception {
            ObjectNode body = Json.object().put("name", name);
            if (diskOnly) body.put("diskOnly", true);
            if (memory) body.put("memory", true);
            if (external) body.put("external", true);
            if (quiesce) body.put("quiesce", true);
            if (disks != null) {
                var arr = body.putArray("disks");
                disks.forEach(arr::add);
            }
            return start("POST", path(vm), body, "snapshot " + name + " of VM " + vm);
        }

        @Override
        void show(JsonNode op, Output out) {
            JsonNode s = op.path("result");
            String pause = s.hasNonNull("pauseMillis") ? " (guest paused " + s.path("pauseMillis").asLong() + " ms)" : "";
            say(out, op, "Snapshot " + name + " of VM " + vm + " created" + pause,
                    "Snapshot " + name + " of VM " + vm + " is being created");
        }
    }

    @Command(name = "list", description = "List a VM's snapshots: NAME KIND MEMORY CREATED PARENT (--tree: as a tree).")
    static final class ListCmd extends CliCommand.OnVm {
        @Option(names = "--tree", description = "Show parent links as a tree; * marks the current snapshot.")
        boolean tree;

        @Override
        JsonNode run() throws Exception {
            return api().get(path(vm));
        }

        @Override
        void show(JsonNode all, Output out) {
            String current = all.path("current").asText(null);
            if (tree) {
                StringBuilder sb = new StringBuilder();
                printTree(all.path("snapshots"), null, "", current, sb);
                out.print(sb);
                return;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "KIND", "MEMORY", "CREATED", "PARENT"});
            for (JsonNode s : all.path("snapshots")) {
                rows.add(new String[] {s.path("name").asText() + (s.path("name").asText().equals(current) ? " *" : ""),
                    s.path("kind").asText(), s.path("memory").asBoolean() ? "yes" : "no", s.path("createdAt").asText(),
                    s.path("parent").asText("-")});
            }
            out.table(rows);
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
    static final class Info extends CliCommand.OnVm {
        @Parameters(index = "1", paramLabel = "NAME", completionCandidates = Completion.SnapshotNames.class)
        String name;

        @Override
        JsonNode run() throws Exception {
            return api().get(path(vm, name));
        }

        @Override
        void show(JsonNode s, Output out) {
            List<String[]> rows = new ArrayList<>();
            for (String f : List.of("name", "kind", "memory", "parent", "createdAt", "vmState", "pauseMillis", "memoryFile")) {
                rows.add(new String[] {f + ":", s.path(f).asText("-")});
            }
            for (JsonNode d : s.path("disks")) {
                rows.add(new String[] {"disk " + d.path("disk").asText() + ":", d.path("image").asText()
                        + (d.hasNonNull("overlay") ? " -> " + d.path("overlay").asText() : "")});
            }
            out.table(rows);
        }
    }

    @Command(name = "revert", description = "Return the VM to a snapshot (disks, and memory for memory snapshots).")
    static final class Revert extends SnapshotOperation {
        @Parameters(index = "1", paramLabel = "NAME", completionCandidates = Completion.SnapshotNames.class)
        String name;

        @Override
        JsonNode run() throws Exception {
            return start("POST", path(vm, name) + "/revert", null, "revert of VM " + vm);
        }

        @Override
        void show(JsonNode op, Output out) {
            say(out, op, "VM " + vm + " reverted to snapshot " + name, "VM " + vm + " is reverting to snapshot " + name);
        }
    }

    @Command(name = "delete", description = "Delete a snapshot (external: merges the layer above its frozen image into it).")
    static final class Delete extends SnapshotOperation {
        @Parameters(index = "1", paramLabel = "NAME", completionCandidates = Completion.SnapshotNames.class)
        String name;

        @Override
        JsonNode run() throws Exception {
            return start("DELETE", path(vm, name), null, "delete of snapshot " + name);
        }

        @Override
        void show(JsonNode op, Output out) {
            say(out, op, "Snapshot " + name + " of VM " + vm + " deleted", "Snapshot " + name + " of VM " + vm + " is being deleted");
        }
    }
}
