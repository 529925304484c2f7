package io.jvirt.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The one place jvirt runs {@code qemu-img}: argument arrays (never a shell), stderr kept for the error, a time
 * limit on every call. Volumes, snapshots of stopped VMs and templates all go through here.
 */
public final class QemuImg {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String binary;
    private final Duration timeout;

    public QemuImg() {
        this("qemu-img", Duration.ofMinutes(30));
    }

    public QemuImg(String binary, Duration timeout) {
        this.binary = binary;
        this.timeout = timeout;
    }

    /** Creates an image; {@code backing} (with its explicit format) makes it an overlay, size may then be null. */
    public void create(Path file, String format, Long sizeBytes, Path backing, String backingFormat) {
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", format));
        if (backing != null) {
            args.addAll(List.of("-b", backing.toString(), "-F", backingFormat));
        }
        args.add(file.toString());
        if (sizeBytes != null) {
            args.add(Long.toString(sizeBytes));
        }
        run(args);
    }

    /**
     * {@code qemu-img info --output=json}; {@code -U} (force-share) lets it read an image a running QEMU holds
     * locked, which is what a status query needs (it reads metadata only, never writes).
     */
    public JsonNode info(Path file, boolean backingChain) {
        List<String> args = new ArrayList<>(List.of("info", "--output=json", "-U"));
        if (backingChain) {
            args.add("--backing-chain");
        }
        args.add(file.toString());
        return parse(run(args));
    }

    /** {@code qemu-img info} with the format given, not probed: for images whose content is not trusted to say it. */
    public JsonNode info(Path file, String format) {
        return info(file, format, false);
    }

    /**
     * As {@link #info(Path, boolean)}, with the image's format given ({@code -f}) instead of probed: a raw image
     * whose guest wrote a qcow2 header must not be read as qcow2 (its "backing file" could be any host file).
     */
    public JsonNode info(Path file, String format, boolean backingChain) {
        if (format == null) {
            return info(file, backingChain);
        }
        List<String> args = new ArrayList<>(List.of("info", "--output=json", "-U", "-f", format));
        if (backingChain) {
            args.add("--backing-chain");
        }
        args.add(file.toString());
        return parse(run(args));
    }

    /**
     * What jvirt's capabilities read of an image: its format, virtual size, backing file (as the header names it,
     * made absolute by qemu-img when it could; null for none) and internal snapshots.
     */
    public record Image(String format, long virtualSize, String backingFile, List<InternalSnapshot> snapshots) {
        public record InternalSnapshot(String name, long vmStateSize) {
        }

        public List<String> snapshotNames() {
            return snapshots.stream().map(InternalSnapshot::name).toList();
        }

        public java.util.Optional<InternalSnapshot> snapshot(String name) {
            return snapshots.stream().filter(x -> x.name().equals(name)).findFirst();
        }
    }

    /** {@link #info(Path, String)} read into an {@link Image}; {@code format} null lets qemu-img probe it. */
    public Image image(Path file, String format) {
        JsonNode info = format == null ? info(file, false) : info(file, format);
        List<Image.InternalSnapshot> snapshots = new ArrayList<>();
        for (JsonNode s : info.path("snapshots")) {
            snapshots.add(new Image.InternalSnapshot(s.path("name").asText(), s.path("vm-state-size").asLong()));
        }
        String backing = info.path("full-backing-filename").asText(info.path("backing-filename").asText(""));
        return new Image(info.path("format").asText(), info.path("virtual-size").asLong(),
                backing.isEmpty() ? null : backing, List.copyOf(snapshots));
    }

    public void resize(Path file, String format, long newSizeBytes) {
        run(List.of("resize", "-q", "-f", format, file.toString(), Long.toString(newSizeBytes)));
    }

    /** Copies an image (the whole chain flattened) to a new file in {@code toFormat}. */
    public void convert(Path from, String fromFormat, Path to, String toFormat) {
        run(List.of("convert", "-q", "-f", fromFormat, "-O", toFormat, from.toString(), to.toString()));
    }

    /**
     * As {@link #convert(Path, String, Path, String)}, passing on the percentage {@code qemu-img convert -p} prints
     * as it copies ({@code "    (45.01/100%)\r"}).
     */
    public void convert(Path from, String fromFormat, Path to, String toFormat, java.util.function.DoubleConsumer percent) {
        run(List.of("convert", "-p", "-f", fromFormat, "-O", toFormat, from.toString(), to.toString()), percent);
    }

    /** Internal snapshots of a qcow2 image that no running QEMU holds: {@code -c}, {@code -a}, {@code -d}. */
    public void snapshot(String op, Path file, String name) {
        if (!List.of("-c", "-a", "-d").contains(op)) {
            throw new IllegalArgumentException("unknown snapshot operation " + op);
        }
        run(List.of("snapshot", "-q", op, name, file.toString()));
    }

    /** Runs {@code qemu-img} with these arguments and returns its stdout; fails with its stderr. */
    public String run(List<String> args) {
        return run(args, null);
    }

    private static final java.util.regex.Pattern PERCENT = java.util.regex.Pattern.compile("\\((\\d+(?:\\.\\d+)?)/100%\\)");

    /** With {@code percent} set, stdout is read as qemu-img's {@code -p} progress instead of being returned. */
    private String run(List<String> args, java.util.function.DoubleConsumer percent) {
        List<String> cmd = new ArrayList<>(args.size() + 1);
        cmd.add(binary);
        cmd.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new QemuImgException(cmd, -1, "cannot run " + binary + ": " + e.getMessage());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread o = Thread.ofVirtual().start(() -> {
            if (percent == null) {
                copy(p.getInputStream(), out);
            } else {
                readProgress(p.getInputStream(), percent);
            }
        });
        Thread e = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new QemuImgException(cmd, -1, "timed out after " + timeout.toSeconds() + " s");
            }
            o.join();
            e.join();
        } catch (InterruptedException ex) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new QemuImgException(cmd, -1, "interrupted");
        }
        if (p.exitValue() != 0) {
            throw new QemuImgException(cmd, p.exitValue(), err.toString(StandardCharsets.UTF_8).strip());
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** qemu-img ends each progress report with '\r' (or '\n' at the end). */
    private static void readProgress(InputStream in, java.util.function.DoubleConsumer percent) {
        try (in) {
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\r' || c == '\n') {
                    java.util.regex.Matcher m = PERCENT.matcher(line);
                    if (m.find()) {
                        percent.accept(Double.parseDouble(m.group(1)));
                    }
                    line.setLength(0);
                } else if (line.length() < 200) {
                    line.append((char) c);
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream to) {
        try (in) {
            in.transferTo(to);
        } catch (IOException ignored) {
            // the process ended
        }
    }

    private static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalStateException("qemu-img printed something that is not JSON: " + text, e);
        }
    }
}
