package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jvirt image build}: a volume from a template, customized as virt-builder would, optionally a VM on it. */
@Command(name = "build", description = "Make a volume from a template: download (once, sha512-checked), convert, grow, customize.")
final class ImageBuild extends CliCommand {
    /** The daemon's limit for one upload (docs/api.md, {@code POST /v1/images/uploads}). */
    static final long MAX_UPLOAD_BYTES = 64L << 20;

    @Option(names = "--upload", paramLabel = "SRC:DST",
            description = "Copy the local file SRC (any bytes, at most 64 MiB) to DST in the guest, mode 0644 root:root "
                + "(repeatable; as virt-builder --upload).")
    List<String> uploads = new ArrayList<>();

    @Option(names = "--start", description = "With --vm: start the VM once it is defined.")
    boolean start;

    @Mixin
    Options.Progress progress;

    @Mixin
    Options.Wait wait;

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

    /** One {@code --upload SRC:DST}, checked before anything is sent. */
    private record Upload(Path src, String dst) {
    }

    private String startedVm;

    @Override
    JsonNode run() throws Exception {
        ObjectNode body = Json.object().put("volume", volume);
        if (size != null) body.put("size", size);
        if (format != null) body.put("format", format);
        if (source != null) body.put("source", source);
        if (hostname != null) body.put("hostname", hostname);
        if (!writes.isEmpty()) addAll(body.putArray("write"), writes);
        List<Upload> checked = new ArrayList<>();
        for (String u : uploads) checked.add(checkUpload(u));
        if (rootPassword != null) {
            if (rootPassword.equals("random")) {
                body.put("randomRootPassword", true);
            } else if (rootPassword.startsWith("password:")) {
                body.put("rootPassword", rootPassword.substring(9));
            } else if (rootPassword.startsWith("file:")) {
                body.put("rootPassword", readFirstLine(rootPassword.substring(5)));
            } else {
                throw usage("--root-password must be file:FILE, password:PASSWORD or random");
            }
        }
        if (!sshInject.isEmpty()) {
            ArrayNode keys = body.putArray("sshInject");
            for (String k : sshInject) {
                String[] p = k.split(":", 3);
                if (p.length != 3 || !(p[1].equals("file") || p[1].equals("string"))) {
                    throw usage("--ssh-inject must be USER:file:KEYFILE or USER:string:KEY");
                }
                keys.add(p[0] + ":" + (p[1].equals("file") ? readFirstLine(p[2]) : p[2]));
            }
        }
        if (!firstboot.isEmpty()) addAll(body.putArray("firstbootCommand"), firstboot);
        if (vm != null) {
            ObjectNode v = body.putObject("vm").put("name", vm);
            if (memory != null) v.put("memoryMiB", memory);
            if (vcpus != null) v.put("vcpus", vcpus);
            if (kernel != null || initrd != null || cmdline != null) {
                ObjectNode boot = v.putObject("boot");
                if (kernel != null) boot.put("kernel", kernel);
                if (initrd != null) boot.put("initrd", initrd);
                if (cmdline != null) boot.put("cmdline", cmdline);
            }
        }
        // last, once every other option was accepted: each upload waits on the daemon for this build
        if (!checked.isEmpty()) {
            ArrayNode up = body.putArray("upload");
            for (Upload u : checked) up.add(send(u));
        }
        JsonNode op = OperationProgress.run(session(), progress, ImageCommands.imagePath(id) + "/build", null, body,
                wait, "building " + volume + " from " + id);
        JsonNode r = op.path("result");
        if (start && !wait.noWait && r.has("vm")) {
            startedVm = text(r.path("vm"), "name");
            JsonNode started = api().post(vmPath(startedVm) + "/start", Map.of("wait", "true"), null);
            Operations.await(api(), started, null, "starting " + startedVm);
        }
        return op;
    }

    @Override
    void show(JsonNode op, Output out) {
        if (wait.noWait) {
            out.line("Building volume " + volume + " from " + id + " (operation " + text(op, "id") + ")");
            return;
        }
        JsonNode r = op.path("result");
        String definedVm = r.has("vm") ? text(r.path("vm"), "name") : null;
        if (definedVm != null) r = r.path("volume");
        StringBuilder sb = new StringBuilder("Volume ").append(text(r, "volume")).append(" built from ")
                .append(text(r, "template")).append(" (revision ").append(text(r, "revision")).append(", source ")
                .append(text(r, "source")).append("): ").append(text(r, "path")).append(", ").append(text(r, "format"))
                .append(", ").append(r.path("virtualSize").asLong()).append(" bytes in ").append(r.path("millis").asLong())
                .append(" ms").append(r.path("cached").asBoolean() ? " (template was cached)" : "").append('\n');
        if (definedVm != null) {
            sb.append("VM ").append(definedVm).append(" defined with it as vda\n");
            if (startedVm != null) sb.append("VM ").append(startedVm).append(" started\n");
        }
        if (r.hasNonNull("generatedRootPassword")) {
            sb.append("Root password (shown once): ").append(r.path("generatedRootPassword").asText()).append('\n');
        }
        out.print(sb);
    }

    private static void addAll(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    /**
     * SRC is read here (the daemon never opens a path a client names) and sent as it is, any bytes, up to the
     * daemon's limit; a larger or unreadable file is refused before anything is sent.
     */
    private Upload checkUpload(String arg) throws CliException {
        int colon = arg.indexOf(':');
        if (colon <= 0 || colon == arg.length() - 1) throw usage("--upload must be SRC:DST, got '" + arg + "'");
        Path src = Path.of(arg.substring(0, colon));
        if (!Files.isRegularFile(src) || !Files.isReadable(src)) {
            throw new CliException(JvirtCli.EXIT_INVALID, "--upload: " + src + " is not a readable regular file");
        }
        try {
            long bytes = Files.size(src);
            if (bytes > MAX_UPLOAD_BYTES) {
                throw new CliException(JvirtCli.EXIT_INVALID, "--upload: " + src + " is " + bytes
                        + " bytes; an upload may hold at most " + MAX_UPLOAD_BYTES + " bytes ("
                        + Bytes.format(MAX_UPLOAD_BYTES, 0) + ")");
            }
        } catch (IOException e) {
            throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + src + ": " + e.getMessage());
        }
        return new Upload(src, arg.substring(colon + 1));
    }

    /** Sends the file to the daemon's upload area; returns {@code ID:DST} for the build request. */
    private String send(Upload u) throws Exception {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(u.src());
        } catch (IOException e) {
            throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + u.src() + ": " + e.getMessage());
        }
        byte[] answer = api().callRaw("POST", "/v1/images/uploads", Map.of(), bytes, "application/octet-stream");
        return Json.parse(answer).path("id").asText() + ":" + u.dst();
    }

    private static String readFirstLine(String file) throws CliException {
        try {
            return Files.readAllLines(Path.of(file)).stream().findFirst().orElse("").strip();
        } catch (IOException e) {
            throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + file + ": " + e.getMessage());
        }
    }
}
