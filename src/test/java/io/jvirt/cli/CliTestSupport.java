package io.jvirt.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Runs the CLI in-process with captured streams. */
final class CliTestSupport {
    private CliTestSupport() {}

    record Result(int exit, String out, String err) {}

    static Result run(StubServer server, String... args) {
        return runWithInput(server, new ByteArrayInputStream(new byte[0]), args);
    }

    static Result runWithInput(StubServer server, InputStream in, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        return runTo(server, in, out, err, args);
    }

    static Result runTo(StubServer server, InputStream in, java.io.OutputStream out, ByteArrayOutputStream err,
                        String... args) {
        List<String> all = new ArrayList<>();
        if (server != null) {
            all.add("--socket");
            all.add(server.socket.toString());
        }
        all.addAll(List.of(args));
        PrintStream pout = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream perr = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = JvirtCli.run(all.toArray(new String[0]), in, pout, perr);
        String o = out instanceof ByteArrayOutputStream b ? b.toString(StandardCharsets.UTF_8) : "";
        return new Result(code, o, err.toString(StandardCharsets.UTF_8));
    }
}
