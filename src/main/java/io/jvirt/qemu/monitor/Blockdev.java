package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import java.nio.file.Path;

/**
 * A node for {@code blockdev-add}: a protocol (file) node, or a format node on a file node given by name or
 * inline. Immutable; the {@code with...} methods return a changed copy.
 */
public final class Blockdev {
    private final ObjectNode options;

    private Blockdev(ObjectNode options) {
        this.options = options;
    }

    /**
     * A node given whole as blockdev-add's JSON object (io.jvirt.confine.BlockdevChain builds a disk's explicit
     * chain in the same shape it puts on the command line at start).
     */
    public static Blockdev fromJson(String json) {
        try {
            return new Blockdev((ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException | ClassCastException e) {
            throw new IllegalArgumentException("not a blockdev-add object: " + json, e);
        }
    }

    /** A {@code file} protocol node on {@code filename}. */
    public static Blockdev file(String nodeName, Path filename) {
        return new Blockdev(QmpArgs.of("driver", "file", "filename", filename.toString(), "node-name", nodeName));
    }

    /**
     * A raw NBD client node on export {@code export} of {@code host:port}; {@code tlsCreds} (a client
     * tls-creds-x509 object id, or null) makes the connection TLS.
     */
    public static Blockdev nbd(String nodeName, String host, int port, String export, String tlsCreds) {
        ObjectNode o = QmpArgs.of("driver", "nbd", "node-name", nodeName, "export", export);
        o.set("server", QmpArgs.of("type", "inet", "host", host, "port", Integer.toString(port)));
        if (tlsCreds != null) {
            o.put("tls-creds", tlsCreds);
        }
        return new Blockdev(o);
    }

    /** A format node ({@code qcow2}, {@code raw}) on the file node named {@code fileNode}. */
    public static Blockdev format(String driver, String nodeName, String fileNode) {
        return new Blockdev(QmpArgs.of("driver", driver, "file", fileNode, "node-name", nodeName));
    }

    /** A format node with its file node added inline, in the same command. */
    public static Blockdev format(String driver, String nodeName, Blockdev file) {
        return new Blockdev(QmpArgs.of("driver", driver, "node-name", nodeName, "file", file.options));
    }

    /** The image's backing file is not opened (e.g. an overlay that {@code blockdev-snapshot} puts on a top). */
    public Blockdev withoutBacking() {
        ObjectNode copy = options.deepCopy();
        copy.putNull("backing");
        return new Blockdev(copy);
    }

    /** Opened read-only or not; a file node also lets QEMU reopen it read-write for a job (auto-read-only). */
    public Blockdev withReadOnly(boolean readOnly) {
        ObjectNode copy = options.deepCopy();
        copy.put("read-only", readOnly);
        if ("file".equals(copy.path("driver").asText())) {
            copy.put("auto-read-only", true);
            copy.put("discard", "unmap");
        }
        return new Blockdev(copy);
    }

    public String nodeName() {
        return options.path("node-name").asText();
    }

    ObjectNode toArguments() {
        return options.deepCopy();
    }

    @Override
    public String toString() {
        return options.toString();
    }
}
