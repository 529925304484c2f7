package io.jvirt.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the image sources come from, in this order (the order in which templates are looked up): the file
 * {@code <state-dir>/image-sources.json}, a JSON array of {@code {"name","uri","key","fingerprint"}}; virt-builder-style
 * {@code <state-dir>/repos.d/*.conf} files ({@link ReposD}); daemon options
 * {@code --image-source URI,KEYFILE[,FINGERPRINT]}.
 */
public final class ImageSources {
    public static final String FILE_NAME = "image-sources.json";

    private ImageSources() {
    }

    /**
     * {@code [NAME=]URI,KEYFILE[,FINGERPRINT]}; without a name the source is named after its position
     * ({@code source1}, ...).
     */
    public static ImageSource parseOption(String option, int position) {
        String name = "source" + position;
        int eq = option.indexOf('=');
        int scheme = option.indexOf("://");
        if (eq > 0 && (scheme < 0 || eq < scheme)) {
            name = option.substring(0, eq);
            option = option.substring(eq + 1);
        }
        String[] parts = option.split(",", -1);
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
            throw new IllegalArgumentException("--image-source must be [NAME=]URI,KEYFILE[,FINGERPRINT], got '" + option + "'");
        }
        return new ImageSource(name, URI.create(parts[0].trim()), Path.of(parts[1].trim()).toAbsolutePath(),
                parts.length == 3 ? parts[2].trim() : null);
    }

    /** The sources, and what was wrong in repos.d (those files or sections are left out; nothing else is). */
    public record Loaded(List<ImageSource> sources, List<ReposD.Problem> problems) {
    }

    public static List<ImageSource> load(Path stateDir, List<String> options, ObjectMapper mapper) throws IOException {
        return loadAll(stateDir, options, mapper).sources();
    }

    /**
     * A broken image-sources.json or option stops the daemon (the operator wrote it for this daemon); a broken
     * repos.d file only leaves itself out, as virt-builder does, because such files are dropped in by packages.
     */
    public static Loaded loadAll(Path stateDir, List<String> options, ObjectMapper mapper) throws IOException {
        Map<String, ImageSource> byName = new LinkedHashMap<>();
        Path file = stateDir.resolve(FILE_NAME);
        if (Files.isRegularFile(file)) {
            JsonNode root = mapper.readTree(file.toFile());
            if (!root.isArray()) {
                throw new IllegalArgumentException(file + " must hold a JSON array of sources");
            }
            for (JsonNode n : root) {
                String name = n.path("name").asText(null);
                String key = n.path("key").asText(null);
                ImageSource s = new ImageSource(name, URI.create(n.path("uri").asText("")),
                        key == null ? null : stateDir.resolve(key).toAbsolutePath(), n.path("fingerprint").asText(null));
                put(byName, s);
            }
        }
        List<ImageSource> fromOptions = new ArrayList<>();
        int i = 1;
        for (String o : options == null ? List.<String>of() : options) {
            fromOptions.add(parseOption(o, i++));
        }
        Map<String, ImageSource> optionNames = new LinkedHashMap<>();
        for (ImageSource s : fromOptions) {
            put(optionNames, s);
        }
        ReposD.Result reposD = ReposD.read(stateDir.resolve(ReposD.DIR_NAME));
        List<ReposD.Problem> problems = new ArrayList<>(reposD.problems());
        for (ImageSource s : reposD.sources()) {
            if (byName.containsKey(s.name()) || optionNames.containsKey(s.name())) {
                problems.add(new ReposD.Problem(reposD.files().get(s.name()), 0, true, "source [" + s.name()
                        + "] is also defined by " + (byName.containsKey(s.name()) ? FILE_NAME : "--image-source")
                        + ", which wins; the repos.d one is ignored"));
                continue;
            }
            byName.put(s.name(), s);
        }
        for (ImageSource s : fromOptions) {
            put(byName, s);
        }
        return new Loaded(new ArrayList<>(byName.values()), problems);
    }

    private static void put(Map<String, ImageSource> byName, ImageSource s) {
        if (byName.putIfAbsent(s.name(), s) != null) {
            throw new IllegalArgumentException("two image sources are named '" + s.name() + "'");
        }
    }
}
