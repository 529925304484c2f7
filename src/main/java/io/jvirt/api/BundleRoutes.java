package io.jvirt.api;

import io.jvirt.images.BundleJob;
import io.jvirt.images.Bundles;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** VM bundles (docs/images.md): export a stopped VM to a tarball with a run script, import one as a new VM. */
record BundleRoutes(Bundles bundles, Operations operations, VmManager vms) {
    record ExportBody(String file, String description) {
    }

    record ImportBody(String file, String name) {
    }

    void register(Router r) {
        r.add("POST", "/v1/vms/{name}/export", ex -> {
            String vm = ex.param("name");
            byte[] raw = ex.body();
            ExportBody b;
            try {
                b = raw.length == 0 ? new ExportBody(null, null) : Json.mapper().readValue(raw, ExportBody.class);
            } catch (IOException e) {
                throw ApiErrors.badArgument("export body must be {\"file\": \"NAME.tar\", \"description\": \"...\"}: "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
            String file = b.file() != null ? b.file() : vm + ".tar";
            Path target = bundles.bundlePath(file);
            if (Files.exists(target)) {
                throw new JvirtException(ErrorCode.VOLUME_EXISTS, "bundle '" + file + "' already exists",
                        Map.of("bundle", file));
            }
            operations.launch(ex, BundleJob.EXPORT, vm, id -> vms.prepareJob(vm, BundleJob.EXPORT, id,
                    ex.querySeconds("queue", Duration.ZERO),
                    ctx -> {
                        if (ctx.state() != VmState.SHUTOFF && ctx.state() != VmState.CRASHED) {
                            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + vm + "' must be shut off to be "
                                    + "exported; it is " + ctx.state().wire(), Map.of("vm", vm, "state", ctx.state().wire()));
                        }
                        return null;
                    },
                    (ctx, none) -> {
                        Path path = bundles.export(ctx.definition(), file, b.description());
                        Map<String, Object> result = new LinkedHashMap<>();
                        result.put("vm", vm);
                        result.put("bundle", path.toString());
                        try {
                            result.put("bytes", Files.size(path));
                        } catch (IOException e) {
                            result.put("bytes", -1);
                        }
                        return result;
                    }));
        });
        r.add("POST", "/v1/images/import", ex -> {
            ImportBody b = ex.bodyAs(ImportBody.class, ErrorCode.INVALID_ARGUMENT);
            bundles.bundlePath(b.file());
            if (b.name() != null) {
                io.jvirt.vm.DefinitionValidator.checkName(b.name());
            }
            String id = Operations.newId();
            operations.respond(ex, operations.run(id, "import", b.name(), () -> {
                Bundles.Imported im = bundles.importBundle(b.file(), b.name());
                try {
                    return vms.define(im.definition());
                } catch (RuntimeException e) {
                    for (Path p : im.files()) {
                        try {
                            Files.deleteIfExists(p);
                        } catch (IOException ignored) {
                            // best effort
                        }
                    }
                    throw e;
                }
            }, () -> { }));
        });
    }

}
