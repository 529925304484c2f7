package io.jvirt.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * Minimal JSON tree reading/writing on top of jackson-core's streaming API.
 *
 * <p>Deliberately avoids {@code ObjectMapper}: building one loads several hundred classes, which is a large part of
 * a one-shot CLI's start-up time. Trees are ordinary Jackson {@link JsonNode}s.
 */
public final class Json {
    private Json() {}

    /** Shared factory; duplicate keys are rejected while building trees (see {@link #readTree(JsonParser)}). */
    static final JsonFactory FACTORY = new JsonFactory();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** A malformed document (syntax error, duplicate key, trailing content). */
    public static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;

        public FormatException(String message) { super(message); }
    }

    public static ObjectNode object() { return NODES.objectNode(); }

    public static ArrayNode array() { return NODES.arrayNode(); }

    /** Parses one JSON document; an empty input yields null. */
    public static JsonNode parse(byte[] bytes) throws IOException {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return readDocument(p);
        }
    }

    public static JsonNode parse(String text) throws IOException {
        try (JsonParser p = FACTORY.createParser(text)) {
            return readDocument(p);
        }
    }

    /** Reads exactly one document from {@code p}: null if there is none, error if more content follows. */
    static JsonNode readDocument(JsonParser p) throws IOException {
        try {
            JsonToken t = p.nextToken();
            if (t == null) return null;
            JsonNode node = readValue(p, t);
            if (p.nextToken() != null) {
                throw new FormatException("unexpected content after the document at " + location(p));
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new FormatException(e.getOriginalMessage() + " at " + location(p));
        }
    }

    static String location(JsonParser p) {
        var loc = p.currentLocation();
        return "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    /** Reads the value starting at the current token {@code t}. Duplicate object keys are an error. */
    static JsonNode readValue(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                ObjectNode o = NODES.objectNode();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    if (k != JsonToken.FIELD_NAME) throw new FormatException("expected a key at " + location(p));
                    String name = p.currentName();
                    if (o.has(name)) {
                        throw new FormatException("duplicate key '" + name + "' at " + location(p));
                    }
                    o.set(name, readValue(p, p.nextToken()));
                }
                return o;
            }
            case START_ARRAY: {
                ArrayNode a = NODES.arrayNode();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    a.add(readValue(p, v));
                }
                return a;
            }
            case VALUE_STRING: return NODES.textNode(p.getText());
            case VALUE_TRUE: return NODES.booleanNode(true);
            case VALUE_FALSE: return NODES.booleanNode(false);
            case VALUE_NULL: return NODES.nullNode();
            case VALUE_NUMBER_INT:
                switch (p.getNumberType()) {
                    case INT: return NODES.numberNode(p.getIntValue());
                    case LONG: return NODES.numberNode(p.getLongValue());
                    default: return NODES.numberNode(p.getBigIntegerValue());
                }
            case VALUE_NUMBER_FLOAT:
                if (p.getNumberType() == JsonParser.NumberType.BIG_DECIMAL) return NODES.numberNode(p.getDecimalValue());
                return NODES.numberNode(p.getDoubleValue());
            case VALUE_EMBEDDED_OBJECT: {
                Object o = p.getEmbeddedObject();
                return o == null ? NODES.nullNode() : NODES.textNode(o.toString());
            }
            default:
                throw new FormatException("unexpected " + t + " at " + location(p));
        }
    }

    /** Serializes {@code node} as UTF-8 JSON. */
    public static byte[] bytes(JsonNode node) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(256);
        try {
            write(node, bos, false);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bos.toByteArray();
    }

    /** Compact JSON text. */
    public static String compact(JsonNode node) {
        return new String(bytes(node), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Pretty-printed JSON text (2-space indentation, no trailing newline). */
    public static String pretty(JsonNode node) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(512);
        try {
            write(node, bos, true);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bos.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    static void write(JsonNode node, OutputStream out, boolean pretty) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            if (pretty) g.useDefaultPrettyPrinter();
            writeValue(g, node);
        }
    }

    private static void writeValue(JsonGenerator g, JsonNode n) throws IOException {
        if (n == null || n.isNull() || n.isMissingNode()) {
            g.writeNull();
        } else if (n.isObject()) {
            g.writeStartObject();
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                g.writeFieldName(e.getKey());
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) writeValue(g, e);
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else if (n.isIntegralNumber()) {
            if (n.canConvertToLong()) g.writeNumber(n.longValue());
            else g.writeNumber(n.bigIntegerValue());
        } else if (n.isNumber()) {
            if (n.isBigDecimal()) g.writeNumber(n.decimalValue());
            else g.writeNumber(n.doubleValue());
        } else if (n.isBinary()) {
            g.writeBinary(n.binaryValue());
        } else {
            g.writeString(n.asText());
        }
    }
}
