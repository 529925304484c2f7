package io.jvirt.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.jvirt.store.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the admin API changed with {@code --persist}: limits, log levels, log outputs and allowed directories, in
 * one durable document ({@code <state-dir>/admin-settings.json}, written atomically and fsynced like the store's
 * documents) that the daemon applies at start, after its flags. Without {@code --persist} a change lives until the
 * daemon stops. A document that cannot be read is moved aside ({@code .bad-TIME}) and the daemon starts with its
 * flags.
 *
 * @param limits     limit name (as {@code jvirt admin limits} shows it) to value
 * @param logLevels  logger name ({@code root} for the root logger) to level
 * @param logOutputs the log outputs, or null when never persisted
 * @param allowDirs  directories added with {@code allow-dir add} (removals remove them from here)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AdminSettings(Map<String, Long> limits, Map<String, String> logLevels, List<String> logOutputs,
                            List<String> allowDirs) {
    public static final String FILE = "admin-settings.json";

    public AdminSettings {
        limits = limits == null ? Map.of() : Map.copyOf(limits);
        logLevels = logLevels == null ? Map.of() : Map.copyOf(logLevels);
        logOutputs = logOutputs == null ? null : List.copyOf(logOutputs);
        allowDirs = allowDirs == null ? List.of() : List.copyOf(allowDirs);
    }

    public static AdminSettings empty() {
        return new AdminSettings(null, null, null, null);
    }

    public static AdminSettings load(Path stateDir, ObjectMapper mapper) {
        Path file = stateDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return empty();
        }
        try {
            return mapper.readValue(file.toFile(), AdminSettings.class);
        } catch (IOException | RuntimeException e) {
            Path aside = file.resolveSibling(FILE + ".bad-" + java.time.Instant.now().toString().replace(':', '-'));
            try {
                AtomicFiles.moveDurably(file, aside);
            } catch (IOException io) {
                throw new UncheckedIOException("cannot move the unreadable " + file + " aside", io);
            }
            org.slf4j.LoggerFactory.getLogger(AdminSettings.class).error("{} unreadable ({}); moved to {}, starting"
                    + " with the flags' settings", file, e.getMessage(), aside);
            return empty();
        }
    }

    public void save(Path stateDir, ObjectMapper mapper) {
        try {
            AtomicFiles.write(stateDir.resolve(FILE), mapper.copy().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsBytes(this));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + stateDir.resolve(FILE), e);
        }
    }

    public AdminSettings withLimits(Map<String, Long> changed) {
        Map<String, Long> m = new LinkedHashMap<>(limits);
        m.putAll(changed);
        return new AdminSettings(m, logLevels, logOutputs, allowDirs);
    }

    public AdminSettings withLogLevel(String logger, String level) {
        Map<String, String> m = new LinkedHashMap<>(logLevels);
        m.put(logger == null || logger.isBlank() ? "root" : logger, level);
        return new AdminSettings(limits, m, logOutputs, allowDirs);
    }

    public AdminSettings withLogOutputs(List<String> outputs) {
        return new AdminSettings(limits, logLevels, outputs, allowDirs);
    }

    public AdminSettings withAllowDir(String dir, boolean add) {
        List<String> m = new ArrayList<>(allowDirs);
        m.remove(dir);
        if (add) {
            m.add(dir);
        }
        return new AdminSettings(limits, logLevels, logOutputs, m);
    }
}
