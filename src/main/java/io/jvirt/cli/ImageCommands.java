package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code jvirt image ...}: templates from signed virt-builder-format sources (docs/images.md). */
@Command(name = "image", description = "Templates from signed image sources (virt-builder's index format).",
        subcommands = {ImageCommands.ListCmd.class, ImageCommands.InfoCmd.class, ImageCommands.SourcesCmd.class,
            ImageCommands.FetchCmd.class, ImageCommands.BuildCmd.class, ImageCommands.PublishCmd.class, ImageCommands.ExportCmd.class,
            ImageCommands.ImportCmd.class})
public final class ImageCommands implements Callable<Integer> {
    @ParentCommand
    JvirtCli cli;

    @Override
    public Integer call() {
        cli.spec.subcommands().get("image").usage(cli.err);
        return JvirtCli.EXIT_USAGE;
    }

    abstract static class ImageSub implements Callable<Integer> {
        @ParentCommand
        ImageCommands image;

        JvirtCli cli() {
            return image.cli;
        }

        static Map<String, Object> sourceQuery(String source) {
            Map<String, Object> q = new LinkedHashMap<>();
            if (source != null) {
                q.put("source", source);
            }
            return q;
        }
    }

    /**
     * Starts an image operation and waits for it, drawing its phases (download, verify, decompress, convert,
     * resize, customize) as a progress bar on stderr unless in {@code -o json} mode or asked not to.
     */
    static JsonNode runWithProgress(JvirtCli cli, boolean noProgress, String path, Map<String, Object> query,
            JsonNode body, String what) throws Exception {
        OperationProgress progress = noProgress ? null : OperationProgress.open(cli);
        if (progress == null) {
            Map<String, Object> q = new LinkedHashMap<>(query);
            q.put("wait", "true");
            return cli.awaitOperation(cli.client().post(path, q, body), null, what);
        }
        try (progress) {
            JsonNode op = cli.client().post(path, query, body);
            progress.follow(op.path("id").asText());
            JsonNode done = cli.awaitOperation(op, null, what);
            progress.awaitEnd();
            return done;
        }
    }

    @Command(name = "list", description = "List the templates of every source (like virt-builder --list): ID ARCH SOURCE NAME.")
    static final class ListCmd extends ImageSub {
        @Option(names = "--source", paramLabel = "NAME", description = "Only this source.")
        String source;

        @Override
        public Integer call() throws Exception {
            JsonNode list = cli().client().get("/v1/images", sourceQuery(source));
            if (cli().json()) {
                cli().printJson(list);
                return JvirtCli.EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "ARCH", "SOURCE", "NAME"});
            for (JsonNode t : list) {
                rows.add(new String[] {JvirtCli.text(t, "id"), JvirtCli.text(t, "arch"), JvirtCli.text(t, "source"),
                    JvirtCli.text(t, "name")});
            }
            cli().printTable(rows);
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "info", aliases = "notes", description = "Show one template and its notes (like virt-builder --notes).")
    static final class InfoCmd extends ImageSub {
        @Parameters(paramLabel = "ID", description = "Template id or alias.")
        String id;

        @Option(names = "--source", paramLabel = "NAME", description = "Look only in this source.")
        String source;

        @Override
        public Integer call() throws Exception {
            JsonNode info = cli().client().get("/v1/images/" + ApiClient.segment(id), sourceQuery(source));
            if (cli().json()) {
                cli().printJson(info);
                return JvirtCli.EXIT_OK;
            }
            JsonNode t = info.path("template");
            StringBuilder sb = new StringBuilder();
            for (String[] kv : new String[][] {{"ID", "id"}, {"Name", "name"}, {"Source", "source"}, {"OS", "osinfo"},
                {"Arch", "arch"}, {"Revision", "revision"}, {"Format", "format"}, {"Size", "size"},
                {"Download", "compressedSize"}}) {
                sb.append(String.format("%-10s%s%n", kv[0] + ":", JvirtCli.text(t, kv[1])));
            }
            sb.append(String.format("%-10s%s%n", "File:", JvirtCli.text(info, "file")));
            String notes = t.path("notes").asText("");
            if (!notes.isEmpty()) {
                sb.append('\n').append(notes).append('\n');
            }
            cli().out.print(sb);
            cli().out.flush();
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "sources", description = "List the configured image sources: NAME SIGNATURE URI KEY; problems "
            + "in <state-dir>/repos.d/*.conf go to stderr.")
    static final class SourcesCmd extends ImageSub {
        @Override
        public Integer call() throws Exception {
            JsonNode list = cli().client().get("/v1/images/sources");
            if (cli().json()) {
                cli().printJson(list);
                return JvirtCli.EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "SIGNATURE", "URI", "KEY"});
            for (JsonNode s : list) {
                rows.add(new String[] {JvirtCli.text(s, "name"), JvirtCli.text(s, "signature"), JvirtCli.text(s, "uri"),
                    JvirtCli.text(s, "key")});
            }
            cli().printTable(rows);
            // repos.d files the daemon left out (or keys it ignored): on stderr, so the table stays parseable
            for (JsonNode p : cli().client().get("/v1/images/sources/problems")) {
                int line = p.path("line").asInt();
                cli().err.println(JvirtCli.text(p, "file") + (line > 0 ? ":" + line : "") + ": "
                        + JvirtCli.text(p, "severity") + ": " + JvirtCli.text(p, "message"));
            }
            cli().err.flush();
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "build", description = "Make a volume from a template: download (once, sha512-checked), convert, grow, customize.")
    static final class BuildCmd extends ImageSub {
        @Option(names = "--upload", paramLabel = "SRC:DST",
                description = "Copy the local file SRC (any bytes, at most 64 MiB) to DST in the guest, mode 0644 root:root "
                    + "(repeatable; as virt-builder --upload).")
        List<String> uploads = new ArrayList<>();

        @Option(names = "--start", description = "With --vm: start the VM once it is defined.")
        boolean start;

        @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
        boolean noProgress;

        @Parameters(paramLabel = "ID", description = "Template id or alias.")
        String id;

        @Option(names = "--output-volume", required = true, paramLabel = "NAME",
                description = "Volume (file) name in the daemon's image directory.")
        String volume;

        @Option(names = "--size", paramLabel = "SIZE", description = "Virtual size, e.g. 8G (default: the template's).")
        String size;

        @Option(names = "--format", paramLabel = "FMT", description = "qcow2 (default) or raw.")
        String format;

        @Option(names = "--source", paramLabel = "NAME", description = "Take the template from this source.")
        String source;

        @Option(names = "--hostname", paramLabel = "NAME", description = "Set the guest's /etc/hostname.")
        String hostname;

        @Option(names = "--write", paramLabel = "FILE:CONTENT", description = "Write CONTENT to FILE in the guest (repeatable).")
        List<String> writes = new ArrayList<>();

        @Option(names = "--root-password", paramLabel = "SELECTOR",
                description = "file:FILE (first line), password:PASSWORD or random (printed once), as virt-builder.")
        String rootPassword;

        @Option(names = "--ssh-inject", paramLabel = "USER:file:KEYFILE",
                description = "Add a public key to USER's authorized_keys (also USER:string:KEY). Repeatable.")
        List<String> sshInject = new ArrayList<>();

        @Option(names = "--firstboot-command", paramLabel = "CMD",
                description = "Run CMD once at the guest's first boot (systemd unit). Repeatable.")
        List<String> firstboot = new ArrayList<>();

        @Option(names = "--vm", paramLabel = "NAME", description = "Also define a VM with the volume as its disk vda.")
        String vm;

        @Option(names = "--memory", paramLabel = "MIB", description = "With --vm: memory in MiB.")
        Integer memory;

        @Option(names = "--vcpus", paramLabel = "N", description = "With --vm: vCPUs.")
        Integer vcpus;

        @Option(names = "--kernel", paramLabel = "FILE", description = "With --vm: kernel for direct boot.")
        String kernel;

        @Option(names = "--initrd", paramLabel = "FILE", description = "With --vm: initrd for direct boot.")
        String initrd;

        @Option(names = "--cmdline", paramLabel = "ARGS", description = "With --vm: kernel command line.")
        String cmdline;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        /** One {@code --upload SRC:DST}, checked before anything is sent. */
        private record Upload(java.nio.file.Path src, String dst) {
        }

        /**
         * SRC is read here (the daemon never opens a path a client names) and sent as it is, any bytes, up to the
         * daemon's limit; a larger or unreadable file is refused before anything is sent.
         */
        private Upload checkUpload(String spec) throws JvirtCli.CliException {
            int colon = spec.indexOf(':');
            if (colon <= 0 || colon == spec.length() - 1) {
                throw new picocli.CommandLine.ParameterException(spec().commandLine(), "--upload must be SRC:DST, got '" + spec + "'");
            }
            java.nio.file.Path src = java.nio.file.Path.of(spec.substring(0, colon));
            if (!java.nio.file.Files.isRegularFile(src) || !java.nio.file.Files.isReadable(src)) {
                throw new JvirtCli.CliException(JvirtCli.EXIT_INVALID, "--upload: " + src + " is not a readable regular file");
            }
            try {
                long size = java.nio.file.Files.size(src);
                if (size > io.jvirt.images.Uploads.MAX_BYTES) {
                    throw new JvirtCli.CliException(JvirtCli.EXIT_INVALID, "--upload: " + src + " is " + size
                            + " bytes; an upload may hold at most " + io.jvirt.images.Uploads.MAX_BYTES + " bytes (64 MiB)");
                }
            } catch (java.io.IOException e) {
                throw new JvirtCli.CliException(JvirtCli.EXIT_INVALID, "cannot read " + src + ": " + e.getMessage());
            }
            return new Upload(src, spec.substring(colon + 1));
        }

        /** Sends the file to the daemon's upload area; returns {@code ID:DST} for the build request. */
        private String send(Upload u) throws Exception {
            byte[] bytes;
            try {
                bytes = java.nio.file.Files.readAllBytes(u.src());
            } catch (java.io.IOException e) {
                throw new JvirtCli.CliException(JvirtCli.EXIT_INVALID, "cannot read " + u.src() + ": " + e.getMessage());
            }
            byte[] answer = cli().client().callRaw("POST", "/v1/images/uploads", Map.of(), bytes, "application/octet-stream");
            return Json.parse(answer).path("id").asText() + ":" + u.dst();
        }

        private picocli.CommandLine.Model.CommandSpec spec() {
            return spec;
        }

        private static String readFirstLine(String file) throws JvirtCli.CliException {
            try {
                return java.nio.file.Files.readAllLines(java.nio.file.Path.of(file)).stream().findFirst().orElse("").strip();
            } catch (java.io.IOException e) {
                throw new JvirtCli.CliException(JvirtCli.EXIT_INVALID, "cannot read " + file + ": " + e.getMessage());
            }
        }

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode();
            body.put("volume", volume);
            if (size != null) {
                body.put("size", size);
            }
            if (format != null) {
                body.put("format", format);
            }
            if (source != null) {
                body.put("source", source);
            }
            if (hostname != null) {
                body.put("hostname", hostname);
            }
            if (!writes.isEmpty()) {
                ArrayNode w = body.putArray("write");
                writes.forEach(w::add);
            }
            List<Upload> checked = new ArrayList<>();
            for (String u : uploads) {
                checked.add(checkUpload(u));
            }
            if (rootPassword != null) {
                if (rootPassword.equals("random")) {
                    body.put("randomRootPassword", true);
                } else if (rootPassword.startsWith("password:")) {
                    body.put("rootPassword", rootPassword.substring(9));
                } else if (rootPassword.startsWith("file:")) {
                    body.put("rootPassword", readFirstLine(rootPassword.substring(5)));
                } else {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--root-password must be file:FILE, password:PASSWORD or random");
                }
            }
            if (!sshInject.isEmpty()) {
                ArrayNode keys = body.putArray("sshInject");
                for (String k : sshInject) {
                    String[] p = k.split(":", 3);
                    if (p.length != 3 || !(p[1].equals("file") || p[1].equals("string"))) {
                        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                                "--ssh-inject must be USER:file:KEYFILE or USER:string:KEY");
                    }
                    keys.add(p[0] + ":" + (p[1].equals("file") ? readFirstLine(p[2]) : p[2]));
                }
            }
            if (!firstboot.isEmpty()) {
                ArrayNode f = body.putArray("firstbootCommand");
                firstboot.forEach(f::add);
            }
            if (vm != null) {
                ObjectNode v = body.putObject("vm");
                v.put("name", vm);
                if (memory != null) {
                    v.put("memoryMiB", memory);
                }
                if (vcpus != null) {
                    v.put("vcpus", vcpus);
                }
                if (kernel != null || initrd != null || cmdline != null) {
                    ObjectNode boot = v.putObject("boot");
                    if (kernel != null) {
                        boot.put("kernel", kernel);
                    }
                    if (initrd != null) {
                        boot.put("initrd", initrd);
                    }
                    if (cmdline != null) {
                        boot.put("cmdline", cmdline);
                    }
                }
            }
            // last, once every other option was accepted: each upload waits on the daemon for this build
            if (!checked.isEmpty()) {
                ArrayNode up = body.putArray("upload");
                for (Upload u : checked) {
                    up.add(send(u));
                }
            }
            JsonNode op = runWithProgress(cli(), noProgress, "/v1/images/" + ApiClient.segment(id) + "/build", Map.of(), body,
                    "building " + volume + " from " + id);
            if (cli().json()) {
                cli().printJson(op);
                return JvirtCli.EXIT_OK;
            }
            JsonNode r = op.path("result");
            String definedVm = r.has("vm") ? JvirtCli.text(r.path("vm"), "name") : null;
            if (definedVm != null) {
                r = r.path("volume");
            }
            cli().out.printf("Volume %s built from %s (revision %s, source %s): %s, %s, %d bytes in %d ms%s%n",
                    JvirtCli.text(r, "volume"), JvirtCli.text(r, "template"), JvirtCli.text(r, "revision"),
                    JvirtCli.text(r, "source"), JvirtCli.text(r, "path"), JvirtCli.text(r, "format"),
                    r.path("virtualSize").asLong(), r.path("millis").asLong(),
                    r.path("cached").asBoolean() ? " (template was cached)" : "");
            if (definedVm != null) {
                cli().out.println("VM " + definedVm + " defined with it as vda");
                if (start) {
                    JsonNode started = cli().client().post(JvirtCli.vmPath(definedVm) + "/start", Map.of("wait", "true"), null);
                    cli().awaitOperation(started, null, "starting " + definedVm);
                    cli().out.println("VM " + definedVm + " started");
                }
            }
            if (r.hasNonNull("generatedRootPassword")) {
                cli().out.println("Root password (shown once): " + r.path("generatedRootPassword").asText());
            }
            cli().out.flush();
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "fetch", description = "Download a template once into the daemon's cache (verified against the "
            + "signed index, decompressed), without building anything.")
    static final class FetchCmd extends ImageSub {
        @Parameters(paramLabel = "ID", description = "Template id or alias.")
        String id;

        @Option(names = "--source", paramLabel = "NAME", description = "Take the template from this source.")
        String source;

        @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
        boolean noProgress;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> q = new java.util.LinkedHashMap<>();
            if (source != null) {
                q.put("source", source);
            }
            JsonNode op = runWithProgress(cli(), noProgress, "/v1/images/" + ApiClient.segment(id) + "/fetch", q, null,
                    "fetching " + id);
            if (cli().json()) {
                cli().printJson(op);
                return JvirtCli.EXIT_OK;
            }
            JsonNode r = op.path("result");
            cli().out.printf("Template %s (revision %s, source %s) %s: %s%n", JvirtCli.text(r, "template"),
                    JvirtCli.text(r, "revision"), JvirtCli.text(r, "source"),
                    r.path("cached").asBoolean() ? "was already cached" : "fetched and verified in " + r.path("millis").asLong() + " ms",
                    JvirtCli.text(r, "path"));
            cli().out.flush();
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "publish", description = "Turn a directory of NAME.qcow2/.raw/.img files into a signed repository "
            + "(xz, sizes, sha512, index, index.asc). Runs locally; needs no daemon.")
    static final class PublishCmd extends ImageSub {
        @Parameters(paramLabel = "DIR")
        java.nio.file.Path dir;

        @Option(names = "--key", required = true, paramLabel = "KEYID", description = "Secret key that signs the index.")
        String key;

        @Option(names = "--gnupg-home", paramLabel = "DIR", description = "GNUPGHOME holding that key (default: gpg's).")
        java.nio.file.Path gnupgHome;

        @Option(names = "--passphrase-file", paramLabel = "FILE", description = "The key's passphrase (default: none).")
        java.nio.file.Path passphraseFile;

        @Override
        public Integer call() throws Exception {
            io.jvirt.images.TemplateIndex index;
            try {
                index = new io.jvirt.images.RepositoryPublisher(new io.jvirt.storage.QemuImg())
                        .publish(dir, gnupgHome, key, passphraseFile);
            } catch (io.jvirt.error.JvirtException e) {
                throw new JvirtCli.CliException(e.code() == io.jvirt.error.ErrorCode.INVALID_ARGUMENT
                        ? JvirtCli.EXIT_INVALID : JvirtCli.EXIT_FAILURE, e.getMessage());
            } catch (java.io.IOException e) {
                throw new JvirtCli.CliException(JvirtCli.EXIT_FAILURE, "publishing " + dir + ": " + e.getMessage());
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "REVISION", "FORMAT", "SIZE", "FILE"});
            for (io.jvirt.images.IndexEntry e : index.entries()) {
                rows.add(new String[] {e.id(), e.revisionOrDefault(), e.formatOrRaw(), String.valueOf(e.size()), e.file()});
            }
            cli().printTable(rows);
            cli().out.println("signed " + dir.resolve("index.asc"));
            cli().out.flush();
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "export", description = "Write a shut-off VM as a bundle NAME.tar (disks, kernel, run script, README, "
            + "SOURCES, vm.json) into the daemon's bundle directory.")
    static final class ExportCmd extends ImageSub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Option(names = "--file", paramLabel = "NAME.tar", description = "Bundle file name (default VM.tar).")
        String file;

        @Option(names = "--description", paramLabel = "TEXT", description = "Goes into the bundle's README.")
        String description;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode();
            if (file != null) {
                body.put("file", file);
            }
            if (description != null) {
                body.put("description", description);
            }
            JsonNode op = cli().client().post(JvirtCli.vmPath(vm) + "/export", Map.of("wait", "true"), body);
            op = cli().awaitOperation(op, null, "exporting " + vm);
            if (cli().json()) {
                cli().printJson(op);
            } else {
                cli().out.println("VM " + vm + " exported to " + JvirtCli.text(op.path("result"), "bundle") + " ("
                        + op.path("result").path("bytes").asLong() + " bytes)");
                cli().out.flush();
            }
            return JvirtCli.EXIT_OK;
        }
    }

    @Command(name = "import", description = "Define a VM from a bundle NAME.tar in the daemon's bundle directory.")
    static final class ImportCmd extends ImageSub {
        @Parameters(paramLabel = "NAME.tar")
        String file;

        @Option(names = "--name", paramLabel = "VM", description = "Name of the new VM (default: the bundle's).")
        String name;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JsonNodeFactory.instance.objectNode();
            body.put("file", file);
            if (name != null) {
                body.put("name", name);
            }
            JsonNode op = cli().client().post("/v1/images/import", Map.of("wait", "true"), body);
            op = cli().awaitOperation(op, null, "importing " + file);
            if (cli().json()) {
                cli().printJson(op);
            } else {
                cli().out.println("VM " + JvirtCli.text(op.path("result"), "name") + " imported from " + file);
                cli().out.flush();
            }
            return JvirtCli.EXIT_OK;
        }
    }
}
