package io.jvirt.cli;

import static io.jvirt.cli.JvirtCli.EXIT_INVALID;
import static io.jvirt.cli.JvirtCli.EXIT_OK;
import static io.jvirt.cli.JvirtCli.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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

    @Command(name = "net-define", description = "Define a network from a YAML or JSON file ('-' reads stdin).")
    static final class Define extends JvirtCli.Sub {
        @Parameters(paramLabel = "FILE")
        String file;

        @Override
        public Integer call() throws Exception {
            byte[] content;
            String name = file;
            try {
                if (file.equals("-")) {
                    content = cli.in.readAllBytes();
                    name = "<stdin>";
                } else {
                    content = Files.readAllBytes(Path.of(file));
                }
            } catch (NoSuchFileException e) {
                throw new JvirtCli.CliException(EXIT_INVALID, "cannot read " + file + ": no such file");
            } catch (IOException e) {
                throw new JvirtCli.CliException(EXIT_INVALID, "cannot read " + file + ": " + e.getMessage());
            }
            JsonNode net = cli.client().post("/v1/networks", null, Definitions.parse(name, content));
            return done(net, "Network " + text(net, "name") + " defined from " + name);
        }
    }

    /** A network action answering the network: POST /v1/networks/{net}/{action}. */
    abstract static class Action extends JvirtCli.Sub {
        private final String action;
        private final String pastTense;

        @Parameters(paramLabel = "NET")
        String net;

        Action(String action, String pastTense) {
            this.action = action;
            this.pastTense = pastTense;
        }

        @Override
        public Integer call() throws Exception {
            return done(cli.client().post(netPath(net) + "/" + action, null, null), "Network " + net + " " + pastTense);
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
    static final class Undefine extends JvirtCli.Sub {
        @Parameters(paramLabel = "NET")
        String net;

        @Override
        public Integer call() throws Exception {
            return done(cli.client().delete(netPath(net)), "Network " + net + " undefined");
        }
    }

    @Command(name = "net-list", description = "List networks: NAME KIND STATE AUTOSTART BRIDGE VMS.")
    static final class ListNets extends JvirtCli.Sub {
        @Option(names = {"--all", "-a"}, description = "Accepted for virsh habits; all networks are listed.")
        boolean all;

        @Override
        public Integer call() throws Exception {
            JsonNode nets = cli.client().get("/v1/networks");
            if (cli.json()) {
                cli.printJson(nets);
                return EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "KIND", "STATE", "AUTOSTART", "BRIDGE", "VMS"});
            for (JsonNode n : nets) {
                rows.add(new String[] {text(n, "name"), text(n, "kind"), text(n, "state"),
                    n.path("autostart").asBoolean() ? "yes" : "no", text(n, "bridge"), Integer.toString(n.path("vms").size())});
            }
            cli.printTable(rows);
            return EXIT_OK;
        }
    }

    @Command(name = "net-info", description = "Show a network's state and definition.")
    static final class Info extends JvirtCli.Sub {
        @Parameters(paramLabel = "NET")
        String net;

        @Override
        public Integer call() throws Exception {
            JsonNode n = cli.client().get(netPath(net));
            if (cli.json()) {
                cli.printJson(n);
                return EXIT_OK;
            }
            JsonNode d = n.path("definition");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"Name:", text(n, "name")});
            rows.add(new String[] {"Kind:", text(n, "kind")});
            rows.add(new String[] {"State:", text(n, "state") + " (" + text(n, "reason") + ", since " + text(n, "since") + ")"});
            rows.add(new String[] {"Autostart:", n.path("autostart").asBoolean() ? "yes" : "no"});
            rows.add(new String[] {"Bridge:", text(n, "bridge")});
            rows.add(new String[] {"IPv4:", text(d.path("ipv4"), "address") + dhcp(d.path("ipv4"))});
            rows.add(new String[] {"IPv6:", text(d.path("ipv6"), "address") + dhcp(d.path("ipv6"))});
            rows.add(new String[] {"Domain:", text(d, "domain")});
            rows.add(new String[] {"dnsmasq:", text(n, "dnsmasqPid")});
            rows.add(new String[] {"nft table:", text(n, "nftTable")});
            List<String> vms = new ArrayList<>();
            n.path("vms").forEach(v -> vms.add(v.asText()));
            rows.add(new String[] {"VMs:", vms.isEmpty() ? "-" : String.join(", ", vms)});
            rows.add(new String[] {"Leases:", text(n, "leases")});
            cli.printTable(rows);
            return EXIT_OK;
        }

        private static String dhcp(JsonNode ip) {
            JsonNode r = ip.path("dhcp");
            return r.isObject() ? " (DHCP " + text(r, "start") + " - " + text(r, "end") + ")" : "";
        }
    }

    @Command(name = "net-autostart", description = "Start the network whenever jvirtd starts and finds it down "
            + "(--disable: do not).")
    static final class Autostart extends JvirtCli.Sub {
        @Parameters(paramLabel = "NET")
        String net;

        @Option(names = "--disable", description = "Turn autostart off.")
        boolean disable;

        @Override
        public Integer call() throws Exception {
            JsonNode body = JsonNodeFactory.instance.objectNode().put("autostart", !disable);
            JsonNode n = cli.client().post(netPath(net) + "/autostart", null, body);
            return done(n, "Network " + net + (disable ? " will not be" : " will be") + " started with jvirtd");
        }
    }

    @Command(name = "net-dhcp-leases", description = "The DHCP leases of a network, from dnsmasq's lease database: "
            + "EXPIRES MAC ADDRESS HOSTNAME.")
    static final class Leases extends JvirtCli.Sub {
        @Parameters(paramLabel = "NET")
        String net;

        @Override
        public Integer call() throws Exception {
            JsonNode leases = cli.client().get(netPath(net) + "/leases");
            if (cli.json()) {
                cli.printJson(leases);
                return EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"EXPIRES", "MAC", "ADDRESS", "HOSTNAME"});
            for (JsonNode l : leases) {
                rows.add(new String[] {text(l, "expires"), l.hasNonNull("mac") ? text(l, "mac") : "iaid " + text(l, "iaid"),
                    text(l, "ip"), text(l, "hostname")});
            }
            cli.printTable(rows);
            return EXIT_OK;
        }
    }
}
