package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What one QEMU build offers over QMP, distilled from its {@code query-qmp-schema}: command names with their
 * argument names, event names, and migration capabilities. Small enough to cache on disk per binary (the schema
 * itself is some 200 KB and takes tens of milliseconds to produce). Ask through {@link Feature}.
 *
 * @param version QEMU's version string from the greeting (with the distribution's package string)
 */
public record QemuCapabilities(String version, Map<String, Set<String>> commands, Set<String> events,
                               Set<String> migrationCapabilities) {

    public QemuCapabilities {
        commands = Map.copyOf(commands);
        events = Set.copyOf(events);
        migrationCapabilities = Set.copyOf(migrationCapabilities);
    }

    public boolean has(Feature feature) {
        return feature.test(this);
    }

    boolean hasCommand(String command) {
        return commands.containsKey(command);
    }

    boolean hasArgument(String command, String argument) {
        return commands.getOrDefault(command, Set.of()).contains(argument);
    }

    boolean hasEvent(String event) {
        return events.contains(event);
    }

    boolean hasMigrationCapability(String capability) {
        return migrationCapabilities.contains(capability);
    }

    /**
     * Reads a {@code query-qmp-schema} reply. Type names in it are masked (numbers), command and event names are
     * not: a command's {@code arg-type} leads to its argument members; the migration capabilities are the values of
     * the enum behind {@code migrate-set-capabilities}' {@code capabilities[].capability}.
     */
    static QemuCapabilities fromSchema(String version, JsonNode schema) {
        Map<String, JsonNode> types = new HashMap<>();
        for (JsonNode entry : schema) {
            types.put(entry.path("name").asText(), entry);
        }
        Map<String, Set<String>> commands = new TreeMap<>();
        Set<String> events = new TreeSet<>();
        for (JsonNode entry : schema) {
            String name = entry.path("name").asText();
            switch (entry.path("meta-type").asText()) {
                case "command" -> commands.put(name, memberNames(types.get(entry.path("arg-type").asText())));
                case "event" -> events.add(name);
                default -> { }
            }
        }
        Set<String> migration = new TreeSet<>();
        JsonNode setCapabilities = types.get("migrate-set-capabilities"); // command names are not masked
        JsonNode element = setCapabilities == null ? null
                : elementOf(types, types.get(setCapabilities.path("arg-type").asText()), "capabilities");
        JsonNode capabilityEnum = element == null ? null : typeOfMember(types, element, "capability");
        if (capabilityEnum != null) {
            migration.addAll(enumValues(capabilityEnum));
        }
        return new QemuCapabilities(version, commands, events, migration);
    }

    private static Set<String> memberNames(JsonNode objectType) {
        Set<String> names = new LinkedHashSet<>();
        if (objectType != null) {
            objectType.path("members").forEach(m -> names.add(m.path("name").asText()));
        }
        return names;
    }

    /** The element type of the array member {@code member} of an object type. */
    private static JsonNode elementOf(Map<String, JsonNode> types, JsonNode objectType, String member) {
        JsonNode array = typeOfMember(types, objectType, member);
        return array == null ? null : types.get(array.path("element-type").asText());
    }

    private static JsonNode typeOfMember(Map<String, JsonNode> types, JsonNode objectType, String member) {
        if (objectType == null) {
            return null;
        }
        for (JsonNode m : objectType.path("members")) {
            if (member.equals(m.path("name").asText())) {
                return types.get(m.path("type").asText());
            }
        }
        return null;
    }

    /** QEMU 6.2 and later list an enum's values as {@code members}; older ones only as {@code values}. */
    private static Set<String> enumValues(JsonNode enumType) {
        Set<String> values = new TreeSet<>();
        enumType.path("members").forEach(m -> values.add(m.path("name").asText()));
        enumType.path("values").forEach(v -> values.add(v.asText()));
        return values;
    }
}
