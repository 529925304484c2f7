package io.jvirt.qemu.monitor;

import io.jvirt.qmp.QmpConnectionClosedException;
import io.jvirt.qmp.QmpErrorException;
import io.jvirt.qmp.QmpException;
import java.util.Optional;

/**
 * A monitor command failed: QEMU answered with an error, did not answer in time, or the monitor is gone (then it
 * is a {@link MonitorClosedException}). The message is the protocol client's, so it names the command and QEMU's
 * own words.
 */
public class MonitorException extends RuntimeException {
    private final String command;
    private final String errorClass;

    MonitorException(String command, String errorClass, String message, Throwable cause) {
        super(message, cause);
        this.command = command;
        this.errorClass = errorClass;
    }

    static MonitorException of(String command, QmpException e) {
        if (e instanceof QmpConnectionClosedException) {
            return new MonitorClosedException(e.getMessage(), e);
        }
        String errorClass = e instanceof QmpErrorException q ? q.errorClass() : null;
        return new MonitorException(command, errorClass, e.getMessage(), e);
    }

    /** The command that failed (null when the monitor closed under a wait rather than a command). */
    public String command() {
        return command;
    }

    /** QEMU's error class (e.g. {@code GenericError}, {@code DeviceNotFound}) when QEMU answered with an error. */
    public Optional<String> errorClass() {
        return Optional.ofNullable(errorClass);
    }
}
