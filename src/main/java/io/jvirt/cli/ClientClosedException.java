package io.jvirt.cli;

import java.io.IOException;

/** A request failed because its {@link ApiClient} was closed (e.g. to detach from a stream). */
public final class ClientClosedException extends IOException {
    private static final long serialVersionUID = 1L;

    ClientClosedException(Throwable cause) {
        super("client closed", cause);
    }
}
