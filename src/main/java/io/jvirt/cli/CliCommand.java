package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The base of every {@code jvirt} command. A command does its API calls in {@link #run()} and returns the answer;
 * {@link #call()} prints it: as JSON with {@code -o json}, else through {@link #show}. Commands that stream (console,
 * events) or draw progress override {@link #call()} instead. Shared options are mixins ({@link Options}); a command
 * group (snapshot, vol, ...) is a plain {@code @Command} class without code: picocli reports a bare group as a
 * usage error and {@link CommandTree} prints its usage (exit 2).
 */
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private Session session;

    /** For the quick path, which runs a command without picocli. */
    final CliCommand bind(Session s) {
        session = s;
        return this;
    }

    final Session session() {
        if (session == null) session = ((JvirtCli) spec.root().userObject()).session;
        return session;
    }

    final ApiClient api() throws CliException {
        return session().client();
    }

    final Output out() {
        return session().output();
    }

    @Override
    public Integer call() throws Exception {
        JsonNode answer = run();
        Output out = out();
        if (out.json()) out.json(answer);
        else show(answer, out);
        return JvirtCli.EXIT_OK;
    }

    /** Makes the command's API calls; returns what {@code -o json} prints. */
    JsonNode run() throws Exception {
        throw new UnsupportedOperationException(getClass().getName() + " overrides call() instead");
    }

    /** Prints the answer of {@link #run()} for people. */
    void show(JsonNode answer, Output out) throws Exception {
    }

    /** A usage error of this command (exit 2): {@code throw usage("...")}. */
    final RuntimeException usage(String message) {
        return usageError(spec, message);
    }

    /**
     * picocli's usage error for {@code spec}. Typed RuntimeException and built through an Object on purpose: the JVM
     * checks an AOT-cached class's verification constraints when the cache is loaded, and a constraint naming a
     * picocli class (e.g. "ParameterException is a Throwable" at a {@code throw}) would load picocli from the jar on
     * every one-shot command, picocli being the one library the cache cannot hold.
     */
    static RuntimeException usageError(CommandSpec spec, String message) {
        Object e = new ParameterException(spec.commandLine(), message);
        return (RuntimeException) e;
    }

    static String vmPath(String vm) {
        return "/v1/vms/" + ApiClient.segment(vm);
    }

    /** A command on one VM, named by its first argument (completed with the daemon's VM names). */
    abstract static class OnVm extends CliCommand {
        @Parameters(index = "0", paramLabel = "VM", completionCandidates = Completion.VmNames.class)
        String vm;
    }
}
