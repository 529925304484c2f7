package io.jvirt.cli;

import java.io.IOException;

/** jvirtd could not be connected to (socket missing, connection refused, permission denied...). */
public final class DaemonUnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    public DaemonUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
