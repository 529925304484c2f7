package io.jvirt.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Reads VM definition files for {@code jvirt define}: JSON, or YAML converted to the same JSON tree.
 *
 * <p>Kept apart from the rest of the CLI so the YAML parser (SnakeYAML + jackson-dataformat-yaml) is only loaded by
 * {@code define}. Duplicate keys are rejected in both formats; so is more than one YAML document.
 */
public final class Definitions {
    private Definitions() {}

    /** The definition file is unusable (syntax, duplicate keys, not an object...). */
    public static final class InvalidFileException extends IOException {
        private static final long serialVersionUID = 1L;

        public InvalidFileException(String message) { super(message); }
    }

    /**
     * Parses {@code content}. The format comes from the name's extension ({@code .json}, {@code .yaml}/{@code .yml});
     * otherwise from the content (JSON if it starts with '{', else YAML).
     *
     * @param name file name, for the format and for messages
     */
    public static JsonNode parse(String name, byte[] content) throws InvalidFileException {
        String lower = name.toLowerCase(Locale.ROOT);
        boolean yaml;
        if (lower.endsWith(".json")) {
            yaml = false;
        } else if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
            yaml = true;
        } else {
            yaml = !startsWithBrace(content);
        }
        JsonNode node;
        try {
            node = yaml ? parseYaml(content) : Json.parse(content);
        } catch (IOException e) {
            String m = e instanceof Json.FormatException ? e.getMessage() : firstLine(e.getMessage());
            throw new InvalidFileException(name + ": invalid " + (yaml ? "YAML" : "JSON") + ": " + m);
        }
        if (node == null || node.isNull()) throw new InvalidFileException(name + ": the file is empty");
        if (!node.isObject()) {
            throw new InvalidFileException(name + ": a VM definition must be a " + (yaml ? "mapping" : "JSON object"));
        }
        return node;
    }

    /** YAML to JSON tree: scalars are typed by YAML 1.2 core rules as jackson-dataformat-yaml applies them. */
    static JsonNode parseYaml(byte[] content) throws IOException {
        YAMLFactory f = new YAMLFactory();
        try (JsonParser p = f.createParser(new String(content, StandardCharsets.UTF_8))) {
            return Json.readDocument(p);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new Json.FormatException(firstLine(e.getOriginalMessage()));
        }
    }

    private static boolean startsWithBrace(byte[] b) {
        int i = 0;
        if (b.length >= 3 && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF) i = 3; // BOM
        for (; i < b.length; i++) {
            byte c = b[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
            return c == '{';
        }
        return false;
    }

    /** SnakeYAML messages span several lines (context, problem, snippet); keep them on one line. */
    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        return s.strip().replaceAll("\\s*\\n\\s*", "; ");
    }
}
