package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * {@code jvirt image ...}: templates from signed virt-builder-format sources, and VM bundles (docs/images.md).
 * Building is {@link ImageBuild}. Publishing a repository is a separate local tool ({@code bin/jvirt-publish},
 * {@code io.jvirt.images.PublishTool}): it needs no daemon, and the CLI knows only the API.
 */
@Command(name = "image", description = "Templates from signed image sources (virt-builder's index format).",
        subcommands = {ImageCommands.ListCmd.class, ImageCommands.InfoCmd.class, ImageCommands.SourcesCmd.class,
            ImageCommands.FetchCmd.class, ImageBuild.class, ImageCommands.ExportCmd.class, ImageCommands.ImportCmd.class,
            ImageCommands.PublishMoved.class})
final class ImageCommands {
    static Map<String, Object> sourceQuery(String source) {
        Map<String, Object> q = new LinkedHashMap<>();
        if (source != null) q.put("source", source);
        return q;
    }

    static String imagePath(String id) {
        return "/v1/images/" + ApiClient.segment(id);
    }

    @Command(name = "list", description = "List the templates of every source (like virt-builder --list): ID ARCH SOURCE NAME.")
    static final class ListCmd extends CliCommand {
        @Option(names = "--source", paramLabel = "NAME", description = "Only this source.")
        String source;

        @Override
        JsonNode run() throws Exception {
            return api().get("/v1/images", sourceQuery(source));
        }

        @Override
        void show(JsonNode list, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "ARCH", "SOURCE", "NAME"});
            for (JsonNode t : list) {
                rows.add(new String[] {text(t, "id"), text(t, "arch"), text(t, "source"), text(t, "name")});
            }
            out.table(rows);
        }
    }

    @Command(name = "info", aliases = "notes", description = "Show one template and its notes (like virt-builder --notes).")
    static final class InfoCmd extends CliCommand {
        @Parameters(paramLabel = "ID", description = "Template id or alias.")
        String id;

        @Option(names = "--source", paramLabel = "NAME", description = "Look only in this source.")
        String source;

        @Override
        JsonNode run() throws Exception {
            return api().get(imagePath(id), sourceQuery(source));
        }

        @Override
        void show(JsonNode info, Output out) {
            JsonNode t = info.path("template");
            Output.Block b = out.block(10);
            for (String[] kv : new String[][] {{"ID", "id"}, {"Name", "name"}, {"Source", "source"}, {"OS", "osinfo"},
                {"Arch", "arch"}, {"Revision", "revision"}, {"Format", "format"}, {"Size", "size"},
                {"Download", "compressedSize"}}) {
                b.add(kv[0], text(t, kv[1]));
            }
            b.add("File", text(info, "file")).print();
            String notes = t.path("notes").asText("");
            if (!notes.isEmpty()) out.print("\n" + notes + "\n");
        }
    }

    @Command(name = "sources", description = "List the configured image sources: NAME SIGNATURE URI KEY; problems "
            + "in <state-dir>/repos.d/*.conf go to stderr.")
    static final class SourcesCmd extends CliCommand {
        @Override
        JsonNode run() throws Exception {
            return api().get("/v1/images/sources");
        }

        @Override
        void show(JsonNode list, Output out) throws Exception {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "SIGNATURE", "URI", "KEY"});
            for (JsonNode s : list) {
                rows.add(new String[] {text(s, "name"), text(s, "signature"), text(s, "uri"), text(s, "key")});
            }
            out.table(rows);
            // repos.d files the daemon left out (or keys it ignored): on stderr, so the table stays parseable
            var err = session().err;
            for (JsonNode p : api().get("/v1/images/sources/problems")) {
                int line = p.path("line").asInt();
                err.println(text(p, "file") + (line > 0 ? ":" + line : "") + ": " + text(p, "severity") + ": "
                        + text(p, "message"));
            }
            err.flush();
        }
    }

    @Command(name = "fetch", description = "Download a template once into the daemon's cache (verified against the "
            + "signed index, decompressed), without building anything.")
    static final class FetchCmd extends CliCommand {
        @Parameters(paramLabel = "ID", description = "Template id or alias.")
        String id;

        @Option(names = "--source", paramLabel = "NAME", description = "Take the template from this source.")
        String source;

        @Mixin
        Options.Progress progress;

        @Mixin
        Options.Wait wait;

        @Override
        JsonNode run() throws Exception {
            return OperationProgress.run(session(), progress, imagePath(id) + "/fetch", sourceQuery(source), null, wait,
                    "fetching " + id);
        }

        @Override
        void show(JsonNode op, Output out) {
            if (wait.noWait) {
                out.line("Fetching template " + id + " (operation " + text(op, "id") + ")");
                return;
            }
            JsonNode r = op.path("result");
            out.line("Template " + text(r, "template") + " (revision " + text(r, "revision") + ", source "
                    + text(r, "source") + ") " + (r.path("cached").asBoolean() ? "was already cached"
                    : "fetched and verified in " + r.path("millis").asLong() + " ms") + ": " + text(r, "path"));
        }
    }

    @Command(name = "export", description = "Write a shut-off VM as a bundle NAME.tar (disks, kernel, run script, README, "
            + "SOURCES, vm.json) into the daemon's bundle directory.")
    static final class ExportCmd extends CliCommand.OnVm {
        @Option(names = "--file", paramLabel = "NAME.tar", description = "Bundle file name (default VM.tar).")
        String file;

        @Option(names = "--description", paramLabel = "TEXT", description = "Goes into the bundle's README.")
        String description;

        @Mixin
        Options.Wait wait;

        @Mixin
        Options.Queue queue;

        @Override
        JsonNode run() throws Exception {
            ObjectNode body = Json.object();
            if (file != null) body.put("file", file);
            if (description != null) body.put("description", description);
            return Operations.run(api(), "POST", vmPath(vm) + "/export", queue.addTo(new LinkedHashMap<>()), body, wait,
                    "exporting " + vm);
        }

        @Override
        void show(JsonNode op, Output out) {
            out.line(wait.noWait ? "VM " + vm + " is being exported (operation " + text(op, "id") + ")"
                    : "VM " + vm + " exported to " + text(op.path("result"), "bundle") + " ("
                    + op.path("result").path("bytes").asLong() + " bytes)");
        }
    }

    @Command(name = "import", description = "Define a VM from a bundle NAME.tar in the daemon's bundle directory.")
    static final class ImportCmd extends CliCommand {
        @Parameters(paramLabel = "NAME.tar")
        String file;

        @Option(names = "--name", paramLabel = "VM", description = "Name of the new VM (default: the bundle's).")
        String name;

        @Mixin
        Options.Wait wait;

        @Override
        JsonNode run() throws Exception {
            ObjectNode body = Json.object().put("file", file);
            if (name != null) body.put("name", name);
            return Operations.run(api(), "POST", "/v1/images/import", null, body, wait, "importing " + file);
        }

        @Override
        void show(JsonNode op, Output out) {
            out.line(wait.noWait ? "Importing " + file + " (operation " + text(op, "id") + ")"
                    : "VM " + text(op.path("result"), "name") + " imported from " + file);
        }
    }

    /** {@code image publish} became its own tool: say where it is instead of "unknown command". */
    @Command(name = "publish", hidden = true)
    static final class PublishMoved extends CliCommand {
        @Unmatched
        List<String> args;

        @Override
        public Integer call() throws CliException {
            throw CliException.usage("publishing a repository runs locally, without jvirtd: use bin/jvirt-publish DIR "
                    + "--key KEYID (see docs/cli.md)");
        }
    }
}
