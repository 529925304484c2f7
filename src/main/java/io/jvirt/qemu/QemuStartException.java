package io.jvirt.qemu;

/** QEMU could not be started; the message carries QEMU's own words (its stderr) when it printed any. */
public final class QemuStartException extends RuntimeException {
    private final String qemuOutput;

    public QemuStartException(String message, String qemuOutput, Throwable cause) {
        super(qemuOutput == null || qemuOutput.isBlank() ? message : message + ": " + qemuOutput, cause);
        this.qemuOutput = qemuOutput;
    }

    public String qemuOutput() {
        return qemuOutput;
    }
}
