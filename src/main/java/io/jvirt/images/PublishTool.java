package io.jvirt.images;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt-publish DIR --key KEYID}: turns a directory of images into a signed repository
 * ({@link RepositoryPublisher}). A tool of its own rather than a {@code jvirt} command: it runs on the maintainer's
 * machine with their signing key and needs no daemon, while {@code jvirt} only speaks the daemon's API.
 * Run it with {@code bin/jvirt-publish} or {@code java -cp target/jvirt.jar io.jvirt.images.PublishTool}.
 *
 * <p>Exit codes as {@code jvirt}'s: 0 success, 1 failure, 2 usage error, 7 invalid input.
 */
@Command(name = "jvirt-publish", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Turn a directory of NAME.qcow2/.raw/.img files into a signed repository (xz, sizes, sha512, "
            + "index, index.asc) that jvirt and virt-builder read. Runs locally; needs no daemon.")
public final class PublishTool implements Callable<Integer> {
    @Parameters(paramLabel = "DIR")
    Path dir;

    @Option(names = "--key", required = true, paramLabel = "KEYID", description = "Secret key that signs the index.")
    String key;

    @Option(names = "--gnupg-home", paramLabel = "DIR", description = "GNUPGHOME holding that key (default: gpg's).")
    Path gnupgHome;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "The key's passphrase (default: none).")
    Path passphraseFile;

    private PrintStream out;
    private PrintStream err;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the tool in-process and returns its exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        PublishTool tool = new PublishTool();
        tool.out = out;
        tool.err = err;
        CommandLine cl = new CommandLine(tool);
        cl.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        TemplateIndex index;
        try {
            index = new RepositoryPublisher(new QemuImg()).publish(dir, gnupgHome, key, passphraseFile);
        } catch (JvirtException e) {
            return fail(e.getMessage(), e.code().kind() == ErrorCode.Kind.INVALID ? 7 : 1);
        } catch (IOException e) {
            return fail("publishing " + dir + ": " + e.getMessage(), 1);
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "REVISION", "FORMAT", "SIZE", "FILE"});
        for (IndexEntry e : index.entries()) {
            rows.add(new String[] {e.id(), e.revisionOrDefault(), e.formatOrRaw(), String.valueOf(e.size()), e.file()});
        }
        int[] w = new int[5];
        for (String[] r : rows) for (int i = 0; i < 5; i++) w[i] = Math.max(w[i], r[i].length());
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < 4; i++) line.append(r[i]).append(" ".repeat(w[i] - r[i].length() + 2));
            out.println(line.append(r[4]));
        }
        out.println("signed " + dir.resolve("index.asc"));
        out.flush();
        return 0;
    }

    private int fail(String message, int code) {
        err.println("jvirt-publish: error: " + message);
        err.flush();
        return code;
    }
}
