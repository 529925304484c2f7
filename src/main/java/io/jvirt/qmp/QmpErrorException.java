package io.jvirt.qmp;

/**
 * QEMU received the command and answered {@code {"error": {"class": ..., "desc": ...}}}.
 * The connection stays usable.
 */
public final class QmpErrorException extends QmpException {

    private final String command;
    private final String errorClass;
    private final String description;

    public QmpErrorException(String command, String errorClass, String description) {
        super("QMP command '" + command + "' failed: " + errorClass + ": " + description);
        this.command = command;
        this.errorClass = errorClass;
        this.description = description;
    }

    /** The command that failed. */
    public String command() {
        return command;
    }

    /** QEMU's error class, e.g. {@code GenericError}, {@code CommandNotFound}, {@code DeviceNotFound}. */
    public String errorClass() {
        return errorClass;
    }

    /** QEMU's human-readable description; not stable across QEMU versions, so don't parse it. */
    public String description() {
        return description;
    }
}
