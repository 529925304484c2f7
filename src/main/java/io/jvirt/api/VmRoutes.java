package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.LifecycleJob;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.time.Duration;
import java.util.Map;

/**
 * /v1/vms: define, list, inspect, undefine, and the lifecycle actions. {@code guest} (null without the guest
 * capability) lets a shutdown ask the guest agent instead of the ACPI button ({@code ?mode=agent}).
 */
record VmRoutes(VmManager vms, Operations operations, io.jvirt.guest.GuestService guest) {
    private static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(60);

    void register(Router r) {
        r.add("GET", "/v1/vms", ex -> ex.json(200, vms.list()));
        r.add("POST", "/v1/vms", ex -> ex.json(201, vms.define(ex.bodyAs(VmDefinition.class, ErrorCode.INVALID_DEFINITION))));
        r.add("GET", "/v1/vms/{name}", ex -> ex.json(200, vms.get(ex.param("name"))));
        r.add("DELETE", "/v1/vms/{name}", ex -> {
            vms.undefine(ex.param("name"), queue(ex));
            ex.json(200, Map.of("undefined", ex.param("name")));
        });
        r.add("POST", "/v1/vms/{name}/start", ex -> operations.launch(ex, LifecycleJob.START, ex.param("name"),
                id -> vms.prepareStart(ex.param("name"), id, queue(ex))));
        r.add("POST", "/v1/vms/{name}/shutdown", ex -> {
            Duration timeout = ex.querySeconds("timeout", DEFAULT_SHUTDOWN_TIMEOUT);
            Runnable request = shutdownRequest(ex);
            operations.launch(ex, LifecycleJob.SHUTDOWN, ex.param("name"),
                    id -> vms.prepareShutdown(ex.param("name"), id, queue(ex), timeout, request));
        });
        r.add("POST", "/v1/vms/{name}/destroy", ex -> ex.json(200, vms.destroy(ex.param("name"))));
        r.add("POST", "/v1/vms/{name}/suspend", ex -> ex.json(200, vms.suspend(ex.param("name"), queue(ex))));
        r.add("POST", "/v1/vms/{name}/resume", ex -> ex.json(200, vms.resume(ex.param("name"), queue(ex))));
    }

    /** How a shutdown asks the guest: {@code mode=acpi} (default: the power button, null here) or {@code agent}. */
    private Runnable shutdownRequest(Exchange ex) {
        String mode = ex.query("mode").orElse("acpi");
        return switch (mode) {
            case "acpi" -> null;
            case "agent" -> {
                if (guest == null) {
                    throw ApiErrors.badArgument("this daemon has no guest agent capability: mode must be acpi");
                }
                yield guest.powerdownRequest(ex.param("name"));
            }
            default -> throw ApiErrors.badArgument("mode must be acpi or agent, got '" + mode + "'");
        };
    }

    private static Duration queue(Exchange ex) {
        return ex.querySeconds("queue", Duration.ZERO);
    }

    /** For other capabilities' routes: the same answer as the lifecycle operations give. */
    static JvirtException notRunning(String vm) {
        return new JvirtException(ErrorCode.INVALID_STATE, "VM '" + vm + "' is not running", Map.of("vm", vm));
    }
}
