package io.jvirt.cli;

import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Training workload for the CLI's AOT cache (scripts/train-cli-aot.sh): runs {@code --help}, {@code list},
 * {@code list -o json}, {@code info}, {@code __complete vms} and a usage error in one JVM so that one {@code -XX:AOTCacheOutput} run records the classes all of them load.
 *
 * With {@code --connect URL --tls-dir DIR} after the socket, {@code list} also runs over mutual TLS (the remote
 * one-shot path: TLS classes and the handshake); without, a TLS call that fails before connecting.
 *
 * <p>Usage: {@code java -XX:AOTCacheOutput=... -cp jvirt.jar io.jvirt.cli.AotTraining --socket SOCKET [--connect URL --tls-dir DIR]}
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) {
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        String[] target = args.length >= 2 ? new String[] {args[0], args[1]} : new String[0];
        int help = JvirtCli.run(new String[] {"--help"}, sink, sink);
        int list = JvirtCli.run(concat(target, "list"), sink, sink);
        int json = JvirtCli.run(concat(target, "-o", "json", "list"), sink, sink);
        int usage = JvirtCli.run(new String[] {"start"}, sink, sink);
        // info of a VM the daemon has (if any), in both formats: the other one-shot query scripts call most.
        java.io.ByteArrayOutputStream listed = new java.io.ByteArrayOutputStream();
        JvirtCli.run(concat(target, "-o", "json", "list"), new PrintStream(listed), sink);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"")
                .matcher(listed.toString());
        String vm = m.find() ? m.group(1) : "jvirt-aot-training";
        int info = JvirtCli.run(concat(target, "info", vm), sink, sink);
        JvirtCli.run(concat(target, "-o", "json", "info", vm), sink, sink);
        JvirtCli.run(concat(target, "__complete", "vms"), sink, sink); // what shell completion runs
        String[] tls = args.length >= 6 ? new String[] {args[2], args[3], args[4], args[5]}
                : new String[] {"--connect", "tls://127.0.0.1:1", "--tls-dir", "/nonexistent/jvirt-aot-training"};
        int remote = JvirtCli.run(concat(tls, "list"), sink, sink);
        JvirtCli.run(concat(tls, "info", vm), sink, sink);
        System.out.println("training exit codes: help=" + help + " list=" + list + " json=" + json + " usage=" + usage
                + " info=" + info + " tls=" + remote);
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
