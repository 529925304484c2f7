package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** jvirt net-*: networks VMs are reached on (virsh net-* habits), over /v1/networks. */
final class NetworkCommands {
    private NetworkCommands() {
    }

    /** Top-level command names, in the order help lists them. */
    static final List<String> NAMES = List.of("net-define", "net-start", "net-destroy", "net-undefine", "net-list",
            "net-info", "net-autostart", "net-dhcp-leases");

    static Object newCommand(String name) {
        return switch (name) {
            case "net-define" -> new Define();
            case "net-start" -> new Start();
            case "net-destroy" -> new Destroy();
            case "net-undefine" -> new Undefine();
            case "net-list" -> new ListNets();
            case "net-info" -> new Info();
            case "net-autostart" -> new Autostart();
            case "net-dhcp-leases" -> new Leases();
            default -> null;
        };
    }

    static String netPath(String name) {
        return "/v1/networks/" + ApiClient.segment(name);
    }

    /** A command on one network, named by its first argument. */
    abstract static class OnNetwork extends CliCommand {
        @Parameters(index = "0", paramLabel = "NET")
        String net;
    }

    @Command(name = "net-define", description = "Define a network from a YAML or JSON file ('-' reads stdin).")
    static final class Define extends DefineCommand {
        @Override
        String collection() { return "/v1/networks"; }

        @Override
        String noun() { return "Network"; }
    }

    /** A network action answering the network: POST /v1/networks/{net}/{action}. */
    abstract static class Action extends OnNetwork {
        private final String action;
        private final String pastTense;

        Action(String action, String pastTense) {
            this.action = action;
            this.pastTense = pastTense;
        }

        @Override
        JsonNode run() throws Exception {
            return api().post(netPath(net) + "/" + action, null, null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Network " + net + " " + pastTense);
        }
    }

    @Command(name = "net-start", description = "Start a network: bridge, addresses, DHCP/DNS and rules.")
    static final class Start extends Action {
        Start() {
            super("start", "started");
        }
    }

    @Command(name = "net-destroy", description = "Stop a network and remove its bridge, dnsmasq and rules "
            + "(refused while a running VM uses it).")
    static final class Destroy extends Action {
        Destroy() {
            super("destroy", "destroyed");
        }
    }

    @Command(name = "net-undefine", description = "Remove a network's definition (stopping it first).")
    static final class Undefine extends OnNetwork {
        @Override
        JsonNode run() throws Exception {
            return api().delete(netPath(net));
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Network " + net + " undefined");
        }
    }

    @Command(name = "net-list", description = "List networks: NAME KIND STATE AUTOSTART BRIDGE VMS.")
    static final class ListNets extends CliCommand {
        @Option(names = {"--all", "-a"}, description = "Accepted for virsh habits; all networks are listed.")
        boolean all;

        @Override
        JsonNode run() throws Exception {
            return api().get("/v1/networks");
        }

        @Override
        void show(JsonNode nets, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "KIND", "STATE", "AUTOSTART", "BRIDGE", "VMS"});
            for (JsonNode n : nets) {
                rows.add(new String[] {text(n, "name"), text(n, "kind"), text(n, "state"),
                    n.path("autostart").asBoolean() ? "yes" : "no", text(n, "bridge"), Integer.toString(n.path("vms").size())});
            }
            out.table(rows);
        }
    }

    @Command(name = "net-info", description = "Show a network's state and definition.")
    static final class Info extends OnNetwork {
        @Override
        JsonNode run() throws Exception {
            return api().get(netPath(net));
        }

        @Override
        void show(JsonNode n, Output out) {
            JsonNode d = n.path("definition");
            List<String> vms = new ArrayList<>();
            n.path("vms").forEach(v -> vms.add(v.asText()));
            out.block(11)
                    .add("Name", text(n, "name"))
                    .add("Kind", text(n, "kind"))
                    .add("State", text(n, "state") + " (" + text(n, "reason") + ", since " + text(n, "since") + ")")
                    .add("Autostart", n.path("autostart").asBoolean() ? "yes" : "no")
                    .add("Bridge", text(n, "bridge"))
                    .add("IPv4", text(d.path("ipv4"), "address") + dhcp(d.path("ipv4")))
                    .add("IPv6", text(d.path("ipv6"), "address") + dhcp(d.path("ipv6")))
                    .add("Domain", text(d, "domain"))
                    .add("dnsmasq", text(n, "dnsmasqPid"))
                    .add("nft table", text(n, "nftTable"))
                    .add("VMs", vms.isEmpty() ? "-" : String.join(", ", vms))
                    .add("Leases", text(n, "leases"))
                    .print();
        }

        private static String dhcp(JsonNode ip) {
            JsonNode r = ip.path("dhcp");
            return r.isObject() ? " (DHCP " + text(r, "start") + " - " + text(r, "end") + ")" : "";
        }
    }

    @Command(name = "net-autostart", description = "Start the network whenever jvirtd starts and finds it down "
            + "(--disable: do not).")
    static final class Autostart extends OnNetwork {
        @Option(names = "--disable", description = "Turn autostart off.")
        boolean disable;

        @Override
        JsonNode run() throws Exception {
            JsonNode body = JsonNodeFactory.instance.objectNode().put("autostart", !disable);
            return api().post(netPath(net) + "/autostart", null, body);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Network " + net + (disable ? " will not be" : " will be") + " started with jvirtd");
        }
    }

    @Command(name = "net-dhcp-leases", description = "The DHCP leases of a network, from dnsmasq's lease database: "
            + "EXPIRES MAC ADDRESS HOSTNAME.")
    static final class Leases extends OnNetwork {
        @Override
        JsonNode run() throws Exception {
            return api().get(netPath(net) + "/leases");
        }

        @Override
        void show(JsonNode leases, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"EXPIRES", "MAC", "ADDRESS", "HOSTNAME"});
            for (JsonNode l : leases) {
                rows.add(new String[] {text(l, "expires"), l.hasNonNull("mac") ? text(l, "mac") : "iaid " + text(l, "iaid"),
                    text(l, "ip"), text(l, "hostname")});
            }
            out.table(rows);
        }
    }
}
