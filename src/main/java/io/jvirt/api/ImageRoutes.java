package io.jvirt.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.images.Customization;
import io.jvirt.images.ImageBuilder;
import io.jvirt.images.ImageCatalog;
import io.jvirt.images.ImageSource;
import io.jvirt.vm.DefinitionValidator;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.Sizes;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** /v1/images: template sources, the templates their signed indexes list, and building volumes from them. */
record ImageRoutes(ImageCatalog catalog, ImageBuilder builder, Operations operations, VmManager vms) {
    /** Body of POST /v1/images/{name}/build. {@code size} is bytes or a string like "8G". */
    record BuildBody(String volume, JsonNode size, String format, String source, String hostname, List<String> write,
            String rootPassword, Boolean randomRootPassword, List<String> sshInject, List<String> firstbootCommand,
            List<String> upload, VmDefinition vm) {
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** 16 characters from an alphabet without look-alikes, like virt-builder's random root passwords. */
    static String randomPassword() {
        String alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    void register(Router r) {
        r.add("GET", "/v1/images/sources", ex -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (ImageSource s : catalog.sources()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", s.name());
                m.put("uri", s.uri().toString());
                m.put("key", s.keyFile().toString());
                m.put("fingerprint", s.fingerprint());
                m.put("signature", s.clearsigned() ? "clearsigned" : "detached");
                out.add(m);
            }
            ex.json(200, out);
        });
        r.add("GET", "/v1/images/sources/problems", ex -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (io.jvirt.images.ReposD.Problem p : catalog.configProblems()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", p.file().toString());
                m.put("line", p.line());
                m.put("severity", p.error() ? "error" : "note");
                m.put("message", p.message());
                out.add(m);
            }
            ex.json(200, out);
        });
        r.add("GET", "/v1/images", ex -> ex.json(200, catalog.list(ex.query("source").orElse(null))));
        r.add("GET", "/v1/images/{name}", ex -> {
            ImageCatalog.Resolved t = catalog.resolve(ex.param("name"), ex.query("source").orElse(null));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("template", ImageCatalog.TemplateView.of(t.source().name(), t.entry()));
            m.put("file", t.fileUri().toString());
            m.put("checksumSha512", t.entry().checksumSha512());
            m.put("expand", t.entry().expand());
            ex.json(200, m);
        });
        r.add("POST", "/v1/images/{name}/fetch", ex -> {
            String template = ex.param("name");
            String source = ex.query("source").orElse(null);
            ProgressRelay relay = new ProgressRelay(operations);
            Operation op = operations.run(Operations.newId(), "image-fetch", null,
                    () -> builder.fetch(template, source, relay::report), () -> { });
            relay.attach(op);
            operations.respond(ex, op);
        });
        r.add("POST", "/v1/images/uploads", ex -> {
            try (var in = ex.bodyStream()) {
                io.jvirt.images.Uploads.Staged s = builder.uploads().receive(in, ex.declaredLength());
                ex.json(201, Map.of("id", s.id(), "bytes", s.bytes()));
            }
        });
        r.add("POST", "/v1/images/{name}/build", ex -> {
            BuildBody b = ex.bodyAs(BuildBody.class, ErrorCode.INVALID_ARGUMENT);
            // claimed first, so that whatever happens below, this request deletes them
            List<io.jvirt.images.Uploads.Staged> claimed = new ArrayList<>();
            try {
                build(ex, b, claimed);
            } catch (Exception | Error e) {
                claimed.forEach(builder.uploads()::release);
                throw e;
            }
        });
    }

    private void build(Exchange ex, BuildBody b, List<io.jvirt.images.Uploads.Staged> claimed) throws Exception {
        List<Customization.FileUpload> uploads = new ArrayList<>();
        for (String u : b.upload() == null ? List.<String>of() : b.upload()) {
            int colon = u == null ? -1 : u.indexOf(':');
            if (colon <= 0) {
                throw ApiErrors.badArgument("upload must be UPLOAD-ID:GUEST-PATH, got '" + u + "'");
            }
            io.jvirt.images.Uploads.Staged s = builder.uploads().claim(u.substring(0, colon));
            claimed.add(s);
            uploads.add(new Customization.FileUpload(u.substring(colon + 1), s.file(), s.bytes()));
        }
        List<Customization.FileWrite> writes = new ArrayList<>();
        for (String w : b.write() == null ? List.<String>of() : b.write()) {
            writes.add(Customization.parseWrite(w));
        }
        boolean random = Boolean.TRUE.equals(b.randomRootPassword());
        if (random && b.rootPassword() != null) {
            throw ApiErrors.badArgument("give rootPassword or randomRootPassword, not both");
        }
        List<Customization.SshKey> keys = new ArrayList<>();
        for (String k : b.sshInject() == null ? List.<String>of() : b.sshInject()) {
            keys.add(Customization.parseSshKey(k));
        }
        ImageBuilder.Request req = new ImageBuilder.Request(ex.param("name"), b.source(), b.volume(), size(b.size()),
                b.format(), new Customization(b.hostname(), writes, random ? randomPassword() : b.rootPassword(), keys,
                        b.firstbootCommand(), uploads), random);
        builder.precheck(req);
        VmDefinition vm = b.vm();
        if (vm != null) {
            precheckVm(vm);
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        ProgressRelay relay = new ProgressRelay(operations);
        String id = Operations.newId();
        List<io.jvirt.images.Uploads.Staged> used = List.copyOf(claimed);
        Operation op = operations.run(id, "image-build", vm == null ? null : vm.name(), () -> {
            try {
                ImageBuilder.Result built = builder.build(req, relay::report, cancelled::get);
                Map<String, Object> defined = vm == null ? null : defineVm(vm, built);
                Object result = vm == null ? built : defined;
                if (built.generatedRootPassword() == null) {
                    return result;
                }
                // the password goes to the operation's own first read only, never to the event stream
                return new Operation.OneTimeResult(result, vm == null ? built.redacted()
                        : withVolume(defined, built.redacted()));
            } finally {
                used.forEach(builder.uploads()::release);
            }
        }, () -> cancelled.set(true));
        claimed.clear(); // the operation owns them now
        relay.attach(op);
        operations.respond(ex, op);
    }

    /**
     * Publishes a build's progress as events of its operation. The work starts inside {@link Operations#run}, before
     * the route has the operation in hand, so the newest report made before {@link #attach} is kept and published then.
     */
    static final class ProgressRelay {
        private final Operations operations;
        private Operation op;
        private Object pending;

        ProgressRelay(Operations operations) {
            this.operations = operations;
        }

        synchronized void report(Object progress) {
            if (op == null) {
                pending = progress;
            } else {
                operations.report(op, progress);
            }
        }

        synchronized void attach(Operation op) {
            this.op = op;
            if (pending != null) {
                operations.report(op, pending);
                pending = null;
            }
        }
    }

    /** The VM must be definable before anything is built: a valid, unused name and no disks of its own. */
    private void precheckVm(VmDefinition vm) {
        DefinitionValidator.checkName(vm.name());
        if (vm.disks() != null && !vm.disks().isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, "vm.disks must be empty: the built volume is its disk");
        }
        try {
            vms.get(vm.name());
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.VM_NOT_FOUND) {
                return;
            }
            throw e;
        }
        throw new JvirtException(ErrorCode.VM_EXISTS, "VM '" + vm.name() + "' already exists", Map.of("vm", vm.name()));
    }

    private static Map<String, Object> withVolume(Map<String, Object> result, ImageBuilder.Result volume) {
        Map<String, Object> copy = new LinkedHashMap<>(result);
        copy.put("volume", volume);
        return copy;
    }

    /** Defines the VM with the new volume as vda; if that fails the volume is removed again (nothing half-made). */
    private Map<String, Object> defineVm(VmDefinition vm, ImageBuilder.Result built) {
        VmDefinition def = vm.withDisks(List.of(new VmDefinition.Disk("vda", built.path(), built.format(), "virtio", false)));
        Object view;
        try {
            view = vms.define(def);
        } catch (RuntimeException e) {
            try {
                java.nio.file.Files.deleteIfExists(java.nio.file.Path.of(built.path()));
            } catch (IOException ignored) {
                // reported below anyway
            }
            throw e;
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("volume", built);
        result.put("vm", view);
        return result;
    }

    private static Long size(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isIntegralNumber()) {
            if (n.asLong() <= 0) {
                throw ApiErrors.badArgument("size must be positive");
            }
            return n.asLong();
        }
        if (n.isTextual()) {
            return Sizes.parse(n.asText(), ErrorCode.INVALID_ARGUMENT);
        }
        throw ApiErrors.badArgument("size must be a number of bytes or a string like \"8G\"");
    }

}
