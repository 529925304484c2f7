package io.jvirt.qmp;

/** The peer sent something that is not valid QMP (bad JSON, a non-object, a missing greeting, ...). */
public final class QmpProtocolException extends QmpException {

    public QmpProtocolException(String message) {
        super(message);
    }

    public QmpProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
