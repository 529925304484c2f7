package io.jvirt.qemu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The per-VM QEMU log: our own records (start time, the full command line, how the process ended) interleaved
 * with whatever QEMU printed on stderr, which is redirected to the same file.
 */
public final class QemuLog {
    private final Path file;

    public QemuLog(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** Appends the start record and returns the file's length after it: QEMU's own output for this run starts there. */
    public long recordStart(List<String> command, List<String> environment) {
        String text = Instant.now() + ": starting up\n"
                + String.join(" ", environment) + (environment.isEmpty() ? "" : " ")
                + command.stream().map(QemuLog::shellQuote).collect(Collectors.joining(" ")) + "\n";
        append(text);
        return length();
    }

    public void record(String event) {
        append(Instant.now() + ": " + event + "\n");
    }

    /** What QEMU wrote since {@code offset} (for error messages), trimmed to the last {@code maxChars}. */
    public String readFrom(long offset, int maxChars) {
        try {
            byte[] all = Files.readAllBytes(file);
            int from = (int) Math.min(Math.max(offset, 0), all.length);
            String s = new String(all, from, all.length - from, StandardCharsets.UTF_8).strip();
            return s.length() > maxChars ? s.substring(s.length() - maxChars) : s;
        } catch (IOException e) {
            return "";
        }
    }

    public long length() {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private void append(String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write QEMU log " + file, e);
        }
    }

    /** Quoting for the log only, so a person can paste the line into a shell; QEMU itself gets an argument array. */
    static String shellQuote(String arg) {
        if (!arg.isEmpty() && arg.chars().allMatch(c -> Character.isLetterOrDigit(c) || "-_=,./:+@%".indexOf(c) >= 0)) {
            return arg;
        }
        return "'" + arg.replace("'", "'\\''") + "'";
    }
}
