package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt guest ...}: calls of the guest agent through /v1/vms/{vm}/guest/... (docs/guest.md). Each waits at
 * most {@code --agent-timeout} seconds for the agent (daemon default 5).
 */
@Command(name = "guest", description = "Ask the guest agent: ping, info, osinfo, hostname, users, time, fsinfo, "
        + "fsfreeze, interfaces, set-password, exec, shutdown, reboot.",
        subcommands = {GuestCommands.Ping.class, GuestCommands.Info.class, GuestCommands.OsInfo.class,
            GuestCommands.HostName.class, GuestCommands.Users.class, GuestCommands.Time.class, GuestCommands.FsInfo.class,
            GuestCommands.FsFreeze.class, GuestCommands.Interfaces.class, GuestCommands.SetPassword.class,
            GuestExecCommand.class, GuestCommands.Shutdown.class, GuestCommands.Reboot.class})
final class GuestCommands {

    static String path(String vm, String call) {
        return CliCommand.vmPath(vm) + "/guest" + (call.isEmpty() ? "" : "/" + call);
    }

    /** A guest agent call on one VM, with {@code --agent-timeout}. */
    abstract static class AgentCall extends CliCommand.OnVm {
        @Mixin
        Options.AgentTimeout agentTimeout;

        Map<String, Object> query() {
            return agentTimeout.addTo(new LinkedHashMap<>());
        }

        JsonNode get(String call) throws Exception {
            return api().get(path(vm, call), query());
        }

        JsonNode post(String call, Map<String, Object> query, JsonNode body) throws Exception {
            return api().post(path(vm, call), query, body);
        }
    }

    /** A call that only reads: GET .../guest/{call}. */
    abstract static class GetCall extends AgentCall {
        private final String call;

        GetCall(String call) {
            this.call = call;
        }

        @Override
        JsonNode run() throws Exception {
            return get(call);
        }
    }

    @Command(name = "ping", description = "Check that the guest agent answers (exit 6 if it does not in time).")
    static final class Ping extends AgentCall {
        @Override
        JsonNode run() throws Exception {
            return post("ping", query(), null);
        }

        @Override
        void show(JsonNode a, Output out) {
            out.line("Guest agent of VM " + vm + " answered in " + text(a, "millis") + " ms");
        }
    }

    @Command(name = "info", description = "Whether the guest agent answers, its version and its commands.")
    static final class Info extends GetCall {
        Info() {
            super("");
        }

        @Override
        void show(JsonNode a, Output out) {
            boolean answers = a.path("answers").asBoolean();
            Output.Block b = out.block(11).add("VM", vm).add("Answers", answers ? "yes (" + text(a, "millis") + " ms)" : "no")
                    .add("Version", text(a, "version"));
            if (!answers) b.add("Why", text(a, "error"));
            List<String> cmds = new ArrayList<>();
            a.path("commands").forEach(c -> cmds.add(c.asText()));
            b.add("Commands", cmds.isEmpty() ? "-" : String.join(" ", cmds));
            List<String> off = new ArrayList<>();
            a.path("disabledCommands").forEach(c -> off.add(c.asText()));
            if (!off.isEmpty()) b.add("Disabled", String.join(" ", off));
            b.print();
        }
    }

    @Command(name = "osinfo", description = "The guest's operating system (os-release and uname).")
    static final class OsInfo extends GetCall {
        OsInfo() {
            super("osinfo");
        }

        @Override
        void show(JsonNode o, Output out) {
            out.block(16).add("Name", text(o, "prettyName")).add("ID", text(o, "id")).add("Version", text(o, "versionId"))
                    .add("Kernel release", text(o, "kernelRelease")).add("Kernel version", text(o, "kernelVersion"))
                    .add("Machine", text(o, "machine")).print();
        }
    }

    @Command(name = "hostname", description = "The guest's host name.")
    static final class HostName extends GetCall {
        HostName() {
            super("hostname");
        }

        @Override
        void show(JsonNode h, Output out) {
            out.line(text(h, "hostname"));
        }
    }

    @Command(name = "users", description = "Users logged in to the guest.")
    static final class Users extends GetCall {
        Users() {
            super("users");
        }

        @Override
        void show(JsonNode users, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"USER", "DOMAIN", "LOGIN"});
            for (JsonNode u : users) {
                rows.add(new String[] {text(u, "user"), text(u, "domain"),
                    java.time.Instant.ofEpochMilli((long) (u.path("loginTime").asDouble() * 1000)).toString()});
            }
            out.table(rows);
        }
    }

    @Command(name = "time", description = "The guest's clock against the host's; --set sets it from the host's clock.")
    static final class Time extends AgentCall {
        @Option(names = "--set", description = "Set the guest's clock (and its RTC) from the host's clock.")
        boolean set;

        @Override
        JsonNode run() throws Exception {
            return set ? post("time", query(), null) : get("time");
        }

        @Override
        void show(JsonNode t, Output out) {
            out.block(10).add("Guest", text(t, "guestTime")).add("Host", text(t, "hostTime"))
                    .add("Offset", text(t, "offsetMillis") + " ms")
                    .add("Timezone", text(t.path("timezone"), "zone") + " (" + text(t.path("timezone"), "offset") + " s)").print();
        }
    }

    @Command(name = "fsinfo", description = "Mounted filesystems, their use, and the VM disks under them.")
    static final class FsInfo extends GetCall {
        FsInfo() {
            super("fsinfo");
        }

        @Override
        void show(JsonNode fs, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"MOUNTPOINT", "TYPE", "USED", "TOTAL", "DISK", "GUEST-DEVICE"});
            for (JsonNode f : fs) {
                List<String> disks = new ArrayList<>();
                List<String> devs = new ArrayList<>();
                for (JsonNode d : f.path("disks")) {
                    disks.add(text(d, "disk"));
                    devs.add(text(d, "guestDevice"));
                }
                rows.add(new String[] {text(f, "mountpoint"), text(f, "type"), bytes(f, "usedBytes"), bytes(f, "totalBytes"),
                    disks.isEmpty() ? "-" : String.join(",", disks), devs.isEmpty() ? "-" : String.join(",", devs)});
            }
            out.table(rows);
        }
    }

    @Command(name = "fsfreeze", description = "Freeze or thaw the guest's filesystems, or show whether they are frozen.")
    static final class FsFreeze extends AgentCall {
        @Parameters(index = "1", paramLabel = "status|freeze|thaw", defaultValue = "status",
                description = "status (default), freeze or thaw.")
        String action;

        @Override
        JsonNode run() throws Exception {
            return switch (action) {
                case "status" -> get("fsfreeze");
                case "freeze", "thaw" -> post("fsfreeze/" + action, query(), null);
                default -> throw usage("fsfreeze takes status, freeze or thaw, not '" + action + "'");
            };
        }

        @Override
        void show(JsonNode a, Output out) {
            out.line(action.equals("status") ? text(a, "status")
                    : (action.equals("freeze") ? "Froze " : "Thawed ") + text(a, "filesystems") + " filesystem(s) of VM " + vm);
        }
    }

    @Command(name = "interfaces", description = "The guest's network interfaces and addresses, with the VM's NIC names.")
    static final class Interfaces extends GetCall {
        Interfaces() {
            super("interfaces");
        }

        @Override
        void show(JsonNode nics, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "NIC", "MAC", "ADDRESSES", "RX", "TX"});
            for (JsonNode n : nics) {
                List<String> addrs = new ArrayList<>();
                n.path("addresses").forEach(a -> addrs.add(text(a, "address") + "/" + text(a, "prefix")));
                rows.add(new String[] {text(n, "name"), text(n, "nic"), text(n, "mac"),
                    addrs.isEmpty() ? "-" : String.join(",", addrs), bytes(n.path("statistics"), "rxBytes"),
                    bytes(n.path("statistics"), "txBytes")});
            }
            out.table(rows);
        }
    }

    @Command(name = "set-password", description = "Set a guest user's password: from a file, or a random one "
            + "(shown once).")
    static final class SetPassword extends AgentCall {
        @Parameters(index = "1", paramLabel = "USER")
        String user;
        @Option(names = "--password-file", paramLabel = "FILE", description = "Read the password from FILE ('-': stdin); "
                + "a trailing newline is dropped.")
        String passwordFile;
        @Option(names = "--random", description = "Generate a random password; it is printed once.")
        boolean random;
        @Option(names = "--crypted", description = "The password in the file is already crypt()ed (e.g. $6$...).")
        boolean crypted;

        @Override
        JsonNode run() throws Exception {
            if ((passwordFile == null) == !random) throw usage("give either --password-file FILE or --random");
            if (random && crypted) throw usage("--crypted applies to --password-file only");
            ObjectNode body = Json.object().put("user", user);
            if (random) {
                body.put("random", true);
            } else {
                body.put("password", readPassword());
                if (crypted) body.put("crypted", true);
            }
            Map<String, Object> q = query();
            q.put("wait", "true");
            return Operations.await(api(), post("set-password", q, body), null, "the password of " + user);
        }

        private String readPassword() throws CliException {
            try {
                byte[] b = passwordFile.equals("-") ? session().in.readAllBytes() : Files.readAllBytes(Path.of(passwordFile));
                String s = new String(b, StandardCharsets.UTF_8);
                return s.endsWith("\n") ? s.substring(0, s.length() - (s.endsWith("\r\n") ? 2 : 1)) : s;
            } catch (IOException e) {
                throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + passwordFile + ": " + e.getMessage());
            }
        }

        @Override
        void show(JsonNode op, Output out) {
            JsonNode r = op.path("result");
            out.line("Password of " + user + " on VM " + vm + " set");
            if (r.path("generated").asBoolean()) out.line("Generated password (shown once): " + text(r, "password"));
        }
    }

    @Command(name = "shutdown", description = "Ask the guest agent to power the guest off (or halt it).")
    static final class Shutdown extends AgentCall {
        @Option(names = "--mode", paramLabel = "MODE", defaultValue = "powerdown", description = "powerdown (default) or halt.")
        String mode;

        @Override
        JsonNode run() throws Exception {
            Map<String, Object> q = query();
            q.put("mode", mode);
            return post("shutdown", q, null);
        }

        @Override
        void show(JsonNode a, Output out) {
            out.line("Asked the guest agent of VM " + vm + " to " + mode);
        }
    }

    @Command(name = "reboot", description = "Ask the guest agent to reboot the guest.")
    static final class Reboot extends AgentCall {
        @Override
        JsonNode run() throws Exception {
            return post("reboot", query(), null);
        }

        @Override
        void show(JsonNode a, Output out) {
            out.line("Asked the guest agent of VM " + vm + " to reboot");
        }
    }

    static String bytes(JsonNode n, String field) {
        JsonNode v = n == null ? null : n.get(field);
        return v == null || !v.isNumber() ? "-" : Bytes.format(v.asLong(), 1);
    }
}
