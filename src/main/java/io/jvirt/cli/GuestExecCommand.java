package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt guest exec VM [--wait] [--timeout S] -- CMD ARGS...}: runs a command in the guest through its agent.
 * With {@code --wait} it prints the command's output (stdout to stdout, stderr to stderr) and exits with its exit
 * code, as ssh does; without, it prints the guest pid ({@code jvirt guest exec-status VM PID} is the API's
 * {@code GET .../guest/exec/PID}).
 */
@Command(name = "exec", description = "Run a command in the guest (--wait: print its output, exit with its exit code).")
final class GuestExecCommand extends GuestCommands.AgentCall {
    @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = "The program (absolute path or on the "
            + "guest agent's PATH) and its arguments; put -- before it.")
    List<String> command;
    @Option(names = "--wait", description = "Wait for the command to exit; print its output, exit with its exit code.")
    boolean waitForExit;
    @Option(names = "--timeout", paramLabel = "S", description = "With --wait: give up after S seconds (exit 6; the "
            + "command keeps running). Default 60.")
    Integer timeout;
    @Option(names = "--env", paramLabel = "NAME=VALUE", description = "An environment variable for the command (repeatable).")
    List<String> env;
    @Option(names = "--input", paramLabel = "TEXT", description = "Text given to the command's stdin.")
    String input;
    @Option(names = "--no-capture", description = "Do not capture the command's output.")
    boolean noCapture;

    @Override
    public Integer call() throws Exception {
        Options.positive(spec, "--timeout", timeout);
        if (timeout != null && !waitForExit) throw usage("--timeout needs --wait");
        ObjectNode body = Json.object().put("path", command.get(0));
        var args = body.putArray("args");
        command.subList(1, command.size()).forEach(args::add);
        if (env != null) {
            var e = body.putArray("env");
            env.forEach(e::add);
        }
        if (input != null) body.put("input", input);
        if (noCapture) body.put("captureOutput", false);
        Map<String, Object> q = query();
        if (waitForExit) {
            int limit = timeout == null ? 60 : timeout;
            q.put("wait", "true");
            q.put("timeout", limit);
            api().setTimeoutMillis((limit + 30) * 1000L);
        }
        JsonNode r = post("exec", q, body);
        Output out = out();
        if (out.json()) {
            out.json(r);
        } else if (!waitForExit) {
            out.line("Started in VM " + vm + " as pid " + text(r, "pid"));
        } else {
            if (r.hasNonNull("stdout")) out.print(r.path("stdout").asText());
            if (r.hasNonNull("stderr")) {
                session().err.print(r.path("stderr").asText());
                session().err.flush();
            }
        }
        if (!waitForExit) return JvirtCli.EXIT_OK;
        if (r.hasNonNull("exitCode")) return r.path("exitCode").asInt() & 0xff;
        return r.hasNonNull("signal") ? 128 + r.path("signal").asInt() : JvirtCli.EXIT_FAILURE;
    }
}
