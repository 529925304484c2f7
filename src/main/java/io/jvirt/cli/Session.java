package io.jvirt.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;

/**
 * One {@code jvirt} invocation: its standard streams and environment, the global options (where jvirtd is, the
 * output format), and the API client, opened on first use and closed at the end.
 */
final class Session implements AutoCloseable {
    final InputStream in;
    final PrintStream out;
    final PrintStream err;
    final Map<String, String> env;
    final Options.Connection connection = new Options.Connection();
    final Options.Output format = new Options.Output();
    private ApiClient client;
    private Output output;

    Session(InputStream in, PrintStream out, PrintStream err, Map<String, String> env) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.env = env;
    }

    /** The client every request of the command goes through (one keep-alive connection when it can). */
    synchronized ApiClient client() throws CliException {
        if (client == null) client = extraClient();
        return client;
    }

    /** A second client (e.g. an event stream beside the requests); the caller closes it. */
    ApiClient extraClient() throws CliException {
        return new ApiClient(connection.connector(env));
    }

    boolean json() {
        return format.format == Options.Format.json;
    }

    /** Standard output in the chosen format (read once the options are parsed). */
    synchronized Output output() {
        if (output == null) output = new Output(out, json());
        return output;
    }

    /** Reports a failure on stderr ({@code jvirt: error: ...}, a stack trace with JVIRT_DEBUG) and gives its exit code. */
    int fail(Throwable t) {
        String target;
        synchronized (this) {
            target = client == null ? null : client.target();
        }
        out.flush();
        err.println("jvirt: error: " + ExitCodes.message(t, target));
        if (env.get("JVIRT_DEBUG") != null) t.printStackTrace(err);
        err.flush();
        return ExitCodes.of(t);
    }

    @Override
    public synchronized void close() {
        out.flush();
        err.flush();
        if (client != null) client.close();
    }
}
