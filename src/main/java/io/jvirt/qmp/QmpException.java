package io.jvirt.qmp;

/**
 * Base of every failure this client reports. Unchecked, because a QMP command failing is usually a
 * programming or environment error that callers handle at a high level, not at every call site.
 */
public class QmpException extends RuntimeException {

    public QmpException(String message) {
        super(message);
    }

    public QmpException(String message, Throwable cause) {
        super(message, cause);
    }
}
