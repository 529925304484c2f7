package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

/**
 * {@code jvirt nodeinfo}: the host as jvirtd sees it ({@code GET /v1/host}): versions, accelerator, and how QEMU
 * is confined, so a host where QEMU runs as root says "runs as root: high privileges".
 */
@Command(name = "nodeinfo", description = "The host: jvirtd and QEMU versions, accelerator, how QEMU is confined.")
final class NodeInfoCommand extends CliCommand {
    @Override
    JsonNode run() throws Exception {
        return api().get("/v1/host");
    }

    @Override
    void show(JsonNode h, Output out) {
        JsonNode c = h.path("confinement");
        out.block(14)
                .add("Hostname", text(h, "hostname"))
                .add("jvirtd", text(h, "version") + " (pid " + text(h, "pid") + ")")
                .add("QEMU", text(h, "qemuVersion") + " (" + text(h, "emulator") + ")")
                .add("Accel", text(h, "accel") + " (" + text(h, "accelReason") + ")")
                .add("VMs", text(h, "vms"))
                .add("Confinement", text(c, "summary"))
                .print();
    }
}
