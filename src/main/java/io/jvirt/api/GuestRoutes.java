package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.guest.GuestExec;
import io.jvirt.guest.GuestService;
import io.jvirt.guest.Passwords;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * /v1/vms/{name}/guest/...: the guest agent's calls (docs/guest.md). Each takes the VM's agent slot, never its job
 * slot, and waits at most {@code ?agentTimeout=S} (default 5 s) for the agent. A set-password is an operation, so
 * that a generated password is shown once (to the operation's first read) and never on the event stream.
 */
record GuestRoutes(GuestService guest, Operations operations) {
    static final String SET_PASSWORD = "guest-set-password";
    private static final String REDACTED = "(redacted: shown once)";

    void register(Router r) {
        String g = "/v1/vms/{name}/guest";
        r.add("GET", g, ex -> ex.json(200, guest.info(vm(ex), timeout(ex))));
        r.add("POST", g + "/ping", ex -> ex.json(200, guest.ping(vm(ex), timeout(ex))));
        r.add("GET", g + "/osinfo", ex -> ex.json(200, guest.osInfo(vm(ex), timeout(ex))));
        r.add("GET", g + "/hostname", ex -> ex.json(200, guest.hostName(vm(ex), timeout(ex))));
        r.add("GET", g + "/users", ex -> ex.json(200, guest.users(vm(ex), timeout(ex))));
        r.add("GET", g + "/time", ex -> ex.json(200, guest.time(vm(ex), timeout(ex))));
        r.add("POST", g + "/time", ex -> ex.json(200, guest.setTimeFromHost(vm(ex), timeout(ex))));
        r.add("GET", g + "/fsinfo", ex -> ex.json(200, guest.fsInfo(vm(ex), timeout(ex))));
        r.add("GET", g + "/fsfreeze", ex -> ex.json(200, guest.fsfreezeStatus(vm(ex), timeout(ex))));
        r.add("POST", g + "/fsfreeze/freeze", ex -> ex.json(200, guest.freeze(vm(ex), timeout(ex))));
        r.add("POST", g + "/fsfreeze/thaw", ex -> ex.json(200, guest.thaw(vm(ex), timeout(ex))));
        r.add("GET", g + "/interfaces", ex -> ex.json(200, guest.interfaces(vm(ex), timeout(ex))));
        r.add("POST", g + "/shutdown", ex -> ex.json(200, guest.shutdown(vm(ex), ex.query("mode").orElse("powerdown"),
                timeout(ex))));
        r.add("POST", g + "/reboot", ex -> ex.json(200, guest.shutdown(vm(ex), "reboot", timeout(ex))));
        r.add("POST", g + "/exec", ex -> {
            GuestExec.Request req = ex.bodyAs(GuestExec.Request.class, ErrorCode.INVALID_ARGUMENT);
            if (ex.queryBool("wait")) {
                ex.json(200, guest.exec().run(vm(ex), req, ex.querySeconds("timeout", Duration.ofSeconds(60)), timeout(ex)));
            } else {
                ex.json(200, Map.of("vm", vm(ex), "pid", guest.exec().start(vm(ex), req, timeout(ex))));
            }
        });
        r.add("GET", g + "/exec/{pid}", ex -> ex.json(200, guest.exec().status(vm(ex), pid(ex), timeout(ex))));
        r.add("POST", g + "/set-password", this::setPassword);
    }

    /** Body {@code {"user", "password" | "random": true, "crypted"}}; a random password is the result, shown once. */
    private void setPassword(Exchange ex) throws java.io.IOException {
        PasswordBody b = ex.bodyAs(PasswordBody.class, ErrorCode.INVALID_ARGUMENT);
        boolean random = Boolean.TRUE.equals(b.random());
        boolean crypted = Boolean.TRUE.equals(b.crypted());
        if (random == (b.password() != null)) {
            throw ApiErrors.badArgument("give either 'password' or 'random': true");
        }
        if (random && crypted) {
            throw ApiErrors.badArgument("a random password is generated in plain text: 'crypted' does not apply");
        }
        String vm = vm(ex);
        guest.requireVm(vm);
        Duration timeout = timeout(ex);
        String password = random ? Passwords.generate() : b.password();
        Operation op = operations.run(Operations.newId(), SET_PASSWORD, vm, () -> {
            guest.setPassword(vm, b.user(), password, crypted, timeout);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("vm", vm);
            result.put("user", b.user());
            result.put("crypted", crypted);
            result.put("generated", random);
            if (!random) {
                return result;
            }
            Map<String, Object> redacted = new LinkedHashMap<>(result);
            result.put("password", password);
            redacted.put("password", REDACTED);
            return new Operation.OneTimeResult(result, redacted);
        }, () -> { });
        operations.respond(ex, op);
    }

    record PasswordBody(String user, String password, Boolean random, Boolean crypted) {
    }

    private static String vm(Exchange ex) {
        return ex.param("name");
    }

    private static long pid(Exchange ex) {
        try {
            return Long.parseLong(ex.param("pid"));
        } catch (NumberFormatException e) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "pid must be a number, got '" + ex.param("pid") + "'");
        }
    }

    private static Duration timeout(Exchange ex) {
        Duration t = ex.querySeconds("agentTimeout", GuestService.DEFAULT_TIMEOUT);
        if (t.isZero()) {
            throw ApiErrors.badArgument("agentTimeout must be more than 0 seconds");
        }
        return t;
    }
}
