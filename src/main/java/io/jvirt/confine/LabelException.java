package io.jvirt.confine;

/** Granting or taking back QEMU's access to a file failed; the message names the file and the tool's error. */
public final class LabelException extends RuntimeException {
    public LabelException(String message) {
        super(message);
    }

    public LabelException(String message, Throwable cause) {
        super(message, cause);
    }
}
