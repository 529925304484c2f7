package io.jvirt.cli;

/**
 * Runs the one-shot queries scripts (and shell completion) call most without building picocli's command model,
 * which takes most of such a call's wall time (its classes are Java 5 bytecode, which the JVM's AOT/CDS cache cannot
 * keep): {@code list}, {@code info VM} and {@code __complete KIND [SCOPE]}, with only {@code --socket}, {@code --connect}, {@code --tls-dir}
 * and {@code -o}. Anything else, including every malformed or unusual form, goes through picocli. Same commands,
 * same output, same exit codes (QuickQueryTest compares both).
 *
 * <p>This class and what it touches must not load picocli: it stays out of every signature here.
 */
final class QuickPath {
    private QuickPath() {
    }

    /** The exit code, or null when picocli must handle {@code args}. */
    static Integer run(Session s, String[] args) {
        String[] words = new String[3];
        int n = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (a) {
                case "--socket" -> {
                    if (!hasValue || s.connection.socket != null || s.connection.url != null) return null;
                    s.connection.socket = args[++i];
                }
                case "--connect" -> {
                    if (!hasValue || s.connection.socket != null || s.connection.url != null) return null;
                    s.connection.url = args[++i];
                }
                case "--tls-dir" -> {
                    if (!hasValue || s.connection.tlsDir != null) return null;
                    s.connection.tlsDir = args[++i];
                }
                case "-o", "--output" -> {
                    if (!hasValue) return null;
                    switch (args[++i]) {
                        case "json" -> s.format.format = Options.Format.json;
                        case "table" -> s.format.format = Options.Format.table;
                        default -> {
                            return null;
                        }
                    }
                }
                default -> {
                    if (a.startsWith("-") || n == words.length) return null;
                    words[n++] = a;
                }
            }
        }
        CliCommand command = command(words, n);
        if (command == null) return null;
        try {
            return command.bind(s).call();
        } catch (CliException e) {
            if (e.isUsage()) return null; // let picocli report it, as it reports every usage error
            return s.fail(e);
        } catch (Exception e) {
            return s.fail(e);
        }
    }

    private static CliCommand command(String[] w, int n) {
        if (n == 1 && w[0].equals("list")) return new VmCommands.ListCmd();
        if (n == 2 && (w[0].equals("info") || w[0].equals("dominfo"))) {
            VmCommands.InfoCmd info = new VmCommands.InfoCmd();
            info.vm = w[1];
            return info;
        }
        if (n >= 2 && w[0].equals("__complete")) {
            Completion.NamesCmd names = new Completion.NamesCmd();
            names.kind = w[1];
            names.scope = n == 3 ? w[2] : null;
            return names;
        }
        return null;
    }
}
