package io.jvirt.qmp;

import java.time.Duration;

/**
 * No answer arrived in time. The command may still run inside QEMU; its late answer is discarded.
 * The connection stays usable.
 */
public final class QmpTimeoutException extends QmpException {

    private final String command;
    private final Duration timeout;

    public QmpTimeoutException(String command, Duration timeout) {
        super("QMP command '" + command + "' got no answer within " + timeout);
        this.command = command;
        this.timeout = timeout;
    }

    public String command() {
        return command;
    }

    public Duration timeout() {
        return timeout;
    }
}
