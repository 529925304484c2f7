package io.jvirt.images;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * virt-builder's {@code repos.d/*.conf} source files, read from {@code <state-dir>/repos.d}:
 *
 * <pre>
 * [libguestfs.org]
 * uri=http://builder.libguestfs.org/index.asc
 * gpgkey=file:///etc/virt-builder/repos.d/libguestfs.gpg
 * </pre>
 *
 * virt-builder's keys are {@code uri=} (required), {@code gpgkey=} (a file:// URI), {@code proxy=} and
 * {@code format=}; jvirt adds {@code fingerprint=} and {@code enabled=}. One bad file (or section) never stops the
 * others from loading: each problem is reported with its file and line, and only what it concerns is left out.
 */
public final class ReposD {
    public static final String DIR_NAME = "repos.d";
    private static final long MAX_FILE_BYTES = 1 << 20;
    private static final Pattern SECTION = Pattern.compile("\\[([^\\]]*)\\]\\s*");
    // virt-builder's ini keys: a name, optionally a [subkey], then '='
    private static final Pattern KEY_VALUE = Pattern.compile("([A-Za-z0-9_.-]+)(\\[[^\\]]*\\])?\\s*=(.*)");

    /**
     * A line of a conf file that was not used as written. {@code error}: the file or section it names was left out;
     * otherwise a note (a key jvirt ignores).
     */
    public record Problem(Path file, int line, boolean error, String message) {
        @Override
        public String toString() {
            return file + (line > 0 ? ":" + line : "") + ": " + (error ? "error" : "note") + ": " + message;
        }
    }

    /**
     * The sources the files define (in file name order, then section order), the file each comes from, and what was
     * wrong with them.
     */
    public record Result(List<ImageSource> sources, List<Problem> problems, Map<String, Path> files) {
        Result(List<ImageSource> sources, List<Problem> problems) {
            this(sources, problems, Map.of());
        }
    }

    private ReposD() {
    }

    /** Reads every {@code *.conf} regular file of {@code dir} in name order; a missing directory defines nothing. */
    public static Result read(Path dir) {
        List<ImageSource> sources = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return new Result(sources, problems);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".conf")).sorted().toList();
        } catch (IOException e) {
            problems.add(new Problem(dir, 0, true, "cannot list the directory: " + e.getMessage()));
            return new Result(sources, problems);
        }
        Map<String, Path> seen = new LinkedHashMap<>();
        for (Path f : files) {
            Result one = readFile(f);
            problems.addAll(one.problems());
            for (ImageSource s : one.sources()) {
                if (seen.containsKey(s.name())) {
                    // virt-builder keeps the first source of a name; say so instead of silently dropping one
                    problems.add(new Problem(f, 0, true, "source [" + s.name() + "] is already defined in "
                            + seen.get(s.name()).getFileName() + "; this one is ignored"));
                    continue;
                }
                seen.put(s.name(), f);
                sources.add(s);
            }
        }
        return new Result(sources, problems, seen);
    }

    /** One file: a syntax error refuses the whole file; a bad section refuses only that section. */
    static Result readFile(Path file) {
        List<Problem> problems = new ArrayList<>();
        String text;
        try {
            if (!Files.isRegularFile(file)) {
                return new Result(List.of(), List.of(new Problem(file, 0, true, "not a regular file; ignored")));
            }
            if (Files.size(file) > MAX_FILE_BYTES) {
                return new Result(List.of(), List.of(new Problem(file, 0, true, "larger than " + MAX_FILE_BYTES
                        + " bytes; ignored")));
            }
            byte[] bytes = Files.readAllBytes(file);
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return new Result(List.of(), List.of(new Problem(file, 0, true, "not UTF-8 text; the file is ignored")));
        } catch (IOException e) {
            return new Result(List.of(), List.of(new Problem(file, 0, true, "cannot read: " + e.getMessage())));
        }

        record Section(String name, int line, Map<String, String> values, Map<String, Integer> lines) {
        }
        List<Section> sections = new ArrayList<>();
        Section current = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int no = i + 1;
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            Matcher sm = SECTION.matcher(trimmed);
            if (sm.matches()) {
                String name = sm.group(1).strip();
                for (Section s : sections) {
                    if (s.name().equals(name)) {
                        return syntax(file, no, "section [" + name + "] appears twice (first on line " + s.line() + ")");
                    }
                }
                current = new Section(name, no, new LinkedHashMap<>(), new LinkedHashMap<>());
                sections.add(current);
                continue;
            }
            Matcher kv = KEY_VALUE.matcher(trimmed);
            if (!kv.matches()) {
                return syntax(file, no, "expected [name] or key=value, got '" + abbreviate(trimmed) + "'");
            }
            if (current == null) {
                return syntax(file, no, "key '" + kv.group(1) + "' is outside any [section]");
            }
            String key = kv.group(1) + (kv.group(2) == null ? "" : kv.group(2));
            if (current.values().containsKey(key)) {
                return syntax(file, no, "key '" + key + "' appears twice in [" + current.name() + "] (first on line "
                        + current.lines().get(key) + ")");
            }
            current.values().put(key, kv.group(3).strip());
            current.lines().put(key, no);
        }

        List<ImageSource> sources = new ArrayList<>();
        for (Section s : sections) {
            try {
                ImageSource src = toSource(file, s.name(), s.line(), s.values(), s.lines(), problems);
                if (src != null) {
                    sources.add(src);
                }
            } catch (SectionError e) {
                problems.add(new Problem(file, e.line, true, "[" + s.name() + "] " + e.getMessage()
                        + "; this source is ignored"));
            }
        }
        return new Result(sources, problems);
    }

    private static final class SectionError extends Exception {
        final int line;

        SectionError(int line, String message) {
            super(message);
            this.line = line;
        }
    }

    /** The section as a source; null when {@code enabled=false}. */
    private static ImageSource toSource(Path file, String name, int sectionLine, Map<String, String> values,
            Map<String, Integer> lines, List<Problem> problems) throws SectionError {
        if (!name.matches(ImageSource.NAME_PATTERN)) {
            throw new SectionError(sectionLine, "the name must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
        }
        String enabled = values.get("enabled");
        if (enabled != null) {
            switch (enabled.toLowerCase(Locale.ROOT)) {
                case "false", "no", "0", "off" -> {
                    return null;
                }
                case "true", "yes", "1", "on" -> { }
                default -> throw new SectionError(lines.get("enabled"), "enabled=" + enabled
                        + " must be true or false");
            }
        }
        for (var e : values.entrySet()) {
            String k = e.getKey();
            int no = lines.get(k);
            switch (k) {
                case "uri", "gpgkey", "fingerprint", "enabled" -> { }
                case "proxy" -> problems.add(new Problem(file, no, false, "[" + name + "] proxy=" + e.getValue()
                        + " is ignored: jvirtd fetches every source through the JVM's own proxy settings "
                        + "(-Dhttp(s).proxyHost, none by default)"));
                case "format" -> {
                    String f = e.getValue();
                    if (f.equals("simplestreams")) {
                        throw new SectionError(no, "format=simplestreams is not supported (only virt-builder's native"
                                + " index format)");
                    }
                    if (!f.isEmpty() && !f.equals("native")) {
                        throw new SectionError(no, "format=" + f + " is unknown (native or simplestreams)");
                    }
                }
                default -> problems.add(new Problem(file, no, false, "[" + name + "] unknown key '" + k
                        + "' is ignored"));
            }
        }
        String uri = values.get("uri");
        if (uri == null || uri.isEmpty()) {
            throw new SectionError(sectionLine, "has no uri= (the URI of the signed index)");
        }
        String gpgkey = values.get("gpgkey");
        if (gpgkey == null || gpgkey.isEmpty()) {
            throw new SectionError(sectionLine, "has no gpgkey= (virt-builder would use it unsigned; jvirt refuses"
                    + " unsigned sources)");
        }
        Path key = keyPath(file, gpgkey, lines.get("gpgkey"));
        String fingerprint = values.get("fingerprint");
        if (fingerprint != null) {
            String hex = fingerprint.replace(" ", "");
            if (!hex.matches("[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}")) {
                throw new SectionError(lines.get("fingerprint"), "fingerprint=" + fingerprint
                        + " must be 40 (v4) or 64 (v5) hex digits, spaces allowed");
            }
            fingerprint = hex.toUpperCase(Locale.ROOT);
        }
        URI index;
        try {
            index = new URI(uri);
        } catch (URISyntaxException e) {
            throw new SectionError(lines.get("uri"), "uri=" + uri + " is not a URI: " + e.getReason());
        }
        try {
            return new ImageSource(name, index, key, fingerprint);
        } catch (IllegalArgumentException e) {
            throw new SectionError(lines.get("uri"), e.getMessage());
        }
    }

    /**
     * {@code gpgkey=} as virt-builder takes it, a file:// URI; a plain absolute path is accepted too, and a relative
     * one is relative to the repos.d directory (keys usually sit beside their .conf). Keys are never downloaded.
     */
    private static Path keyPath(Path file, String gpgkey, int line) throws SectionError {
        if (gpgkey.startsWith("file:")) {
            try {
                URI u = new URI(gpgkey);
                if (u.getPath() == null || !u.getPath().startsWith("/")
                        || u.getAuthority() != null && !u.getAuthority().isEmpty() && !u.getAuthority().equals("localhost")) {
                    throw new SectionError(line, "gpgkey=" + gpgkey + " must be file:///absolute/path");
                }
                return Path.of(u.getPath());
            } catch (URISyntaxException e) {
                throw new SectionError(line, "gpgkey=" + gpgkey + " is not a URI: " + e.getReason());
            }
        }
        if (gpgkey.matches("[A-Za-z][A-Za-z0-9+.-]*://.*")) {
            throw new SectionError(line, "gpgkey=" + gpgkey + " must be a local file (file://); keys are never"
                    + " downloaded");
        }
        return file.toAbsolutePath().getParent().resolve(gpgkey).normalize();
    }

    private static Result syntax(Path file, int line, String message) {
        return new Result(List.of(), List.of(new Problem(file, line, true, message + "; the whole file is ignored")));
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }
}
