package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The VM lifecycle in virsh's words: list, define, undefine, start, shutdown, destroy, suspend, resume, info. */
final class VmCommands {
    private VmCommands() {
    }

    @Command(name = "list", description = "List the defined VMs: NAME STATE REASON JOB (all VMs are listed).")
    static final class ListCmd extends CliCommand {
        @Option(names = {"--all", "-a"}, description = "Accepted for virsh habits; jvirt always lists all VMs.")
        boolean all;

        @Override
        JsonNode run() throws Exception {
            JsonNode vms = api().get("/v1/vms");
            if (vms == null || !vms.isArray()) throw new IOException("jvirtd answered no VM list");
            return vms;
        }

        @Override
        void show(JsonNode vms, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "STATE", "REASON", "JOB"});
            for (JsonNode vm : vms) {
                JsonNode job = vm.get("job");
                rows.add(new String[] {text(vm, "name"), text(vm, "state"), text(vm, "reason"),
                    job == null || job.isNull() ? "-" : text(job, "name")});
            }
            out.table(rows);
        }
    }

    @Command(name = "define", description = "Define a VM from a YAML or JSON file ('-' reads stdin).")
    static final class DefineCmd extends DefineCommand {
        @Override
        String collection() { return "/v1/vms"; }

        @Override
        String noun() { return "VM"; }
    }

    @Command(name = "undefine", description = "Remove a VM's definition (it must be shut off or crashed).")
    static final class UndefineCmd extends CliCommand.OnVm {
        @Mixin
        Options.Queue queue;

        @Override
        JsonNode run() throws Exception {
            return api().delete(vmPath(vm), queue.addTo(new LinkedHashMap<>()));
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("VM " + vm + " undefined");
        }
    }

    @Command(name = "start", description = "Boot a VM; waits until it runs unless --no-wait.")
    static final class StartCmd extends CliCommand.OnVm {
        @Mixin
        Options.Wait wait;

        @Mixin
        Options.Queue queue;

        @Override
        JsonNode run() throws Exception {
            return Operations.run(api(), "POST", vmPath(vm) + "/start", queue.addTo(new LinkedHashMap<>()), null, wait,
                    "VM " + vm + " to start");
        }

        @Override
        void show(JsonNode op, Output out) {
            out.line(wait.noWait ? "VM " + vm + " is starting (operation " + text(op, "id") + ")" : "VM " + vm + " started");
        }
    }

    @Command(name = "shutdown", description = "Ask the guest to power off (ACPI, or --mode agent) and wait until it has.")
    static final class ShutdownCmd extends CliCommand.OnVm {
        @Option(names = "--timeout", paramLabel = "S",
                description = "Seconds the guest gets to power off (daemon default 60); then exit 6, VM keeps running.")
        Integer timeout;

        @Option(names = "--no-wait", description = "Return at once with the operation.")
        boolean noWait;

        @Option(names = "--mode", paramLabel = "MODE", description = "How the guest is asked: acpi (the power button, "
                + "default) or agent (the guest agent's shutdown).")
        String mode;

        @Mixin
        Options.Queue queue;

        @Override
        JsonNode run() throws Exception {
            Options.positive(spec, "--timeout", timeout);
            if (mode != null && !mode.equals("acpi") && !mode.equals("agent")) throw usage("--mode must be acpi or agent");
            ApiClient c = api();
            String path = vmPath(vm) + "/shutdown";
            Map<String, Object> q = queue.addTo(new LinkedHashMap<>());
            if (timeout != null) q.put("timeout", timeout);
            if (mode != null) q.put("mode", mode);
            if (noWait) return c.post(path, q, null);
            q.put("wait", "true");
            int limit = timeout == null ? 60 : timeout; // the daemon gives up after it: wait a little longer
            JsonNode op;
            c.setTimeoutMillis((limit + 30) * 1000L);
            try {
                op = c.post(path, q, null);
            } finally {
                c.setTimeoutMillis(0);
            }
            return Operations.await(c, op, limit + 10, "VM " + vm + " to shut down");
        }

        @Override
        void show(JsonNode op, Output out) {
            out.line(noWait ? "VM " + vm + " is shutting down (operation " + text(op, "id") + ")" : "VM " + vm + " shut down");
        }
    }

    /** A one-word action on a VM that answers at once with the VM: POST /v1/vms/{vm}/{action}. */
    abstract static class QuickAction extends CliCommand.OnVm {
        private final String action;
        private final String pastTense;

        QuickAction(String action, String pastTense) {
            this.action = action;
            this.pastTense = pastTense;
        }

        Map<String, Object> query() {
            return null;
        }

        @Override
        JsonNode run() throws Exception {
            return api().post(vmPath(vm) + "/" + action, query(), null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("VM " + vm + " " + pastTense);
        }
    }

    @Command(name = "destroy", description = "Kill a VM's QEMU at once (like pulling the plug; never queues).")
    static final class DestroyCmd extends QuickAction {
        DestroyCmd() {
            super("destroy", "destroyed");
        }
    }

    /** suspend and resume take the VM's job slot, so they can wait for it (destroy never does). */
    abstract static class QueuedAction extends QuickAction {
        @Mixin
        Options.Queue queue;

        QueuedAction(String action, String pastTense) {
            super(action, pastTense);
        }

        @Override
        Map<String, Object> query() {
            return queue.addTo(new LinkedHashMap<>());
        }
    }

    @Command(name = "suspend", description = "Pause a VM's vCPUs.")
    static final class SuspendCmd extends QueuedAction {
        SuspendCmd() {
            super("suspend", "suspended");
        }
    }

    @Command(name = "resume", description = "Resume a paused VM.")
    static final class ResumeCmd extends QueuedAction {
        ResumeCmd() {
            super("resume", "resumed");
        }
    }

    @Command(name = "info", aliases = "dominfo", description = "Show a VM's state and configuration.")
    static final class InfoCmd extends CliCommand.OnVm {
        @Override
        JsonNode run() throws Exception {
            return api().get(vmPath(vm));
        }

        @Override
        void show(JsonNode v, Output out) {
            JsonNode def = v.path("definition");
            JsonNode rt = v.get("runtime");
            boolean running = rt != null && rt.isObject();
            JsonNode job = v.get("job");
            String mem = text(def, "memoryMiB");
            Output.Block b = out.block(10)
                    .add("Name", text(v, "name"))
                    .add("UUID", text(v, "uuid"))
                    .add("State", text(v, "state"))
                    .add("Reason", text(v, "reason"))
                    .add("Since", text(v, "stateSince"))
                    .add("vCPUs", text(def, "vcpus"))
                    .add("Memory", mem.equals("-") ? mem : mem + " MiB")
                    .add("Accel", running && !text(rt, "accel").equals("-") ? text(rt, "accel") : text(def, "accel"))
                    .add("PID", running ? text(rt, "pid") : "-")
                    .add("Job", job == null || !job.isObject() ? "-" : text(job, "name") + " (since "
                            + text(job, "since") + ", operation " + text(job, "operation") + ")");
            List<String> disks = new ArrayList<>();
            for (JsonNode d : def.path("disks")) {
                String extra = text(d, "format") + ", " + text(d, "bus")
                        + (d.path("readOnly").asBoolean(false) ? ", read-only" : "");
                disks.add(text(d, "name") + " " + text(d, "path") + " (" + extra + ")");
            }
            List<String> nics = new ArrayList<>();
            JsonNode nicViews = v.path("nics"); // with their taps and addresses, when the daemon has networks
            for (JsonNode n : nicViews.isArray() ? nicViews : def.path("nics")) {
                nics.add(text(n, "name") + " " + text(n, "type") + " " + text(n, "model") + " " + text(n, "mac")
                        + NicLines.extra(n));
            }
            b.add("Disks", disks).add("NICs", nics).print();
        }
    }
}
