package io.jvirt.qmp;

/**
 * The monitor connection is gone: QEMU closed it (usually because it exited), an I/O error broke it,
 * the peer sent something that is not QMP, or the client was closed. The message says which; the cause,
 * if any, is the underlying error.
 */
public final class QmpConnectionClosedException extends QmpException {

    public QmpConnectionClosedException(String message) {
        super(message);
    }

    public QmpConnectionClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
