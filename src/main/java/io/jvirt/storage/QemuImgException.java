package io.jvirt.storage;

import java.util.List;

/** A failed {@code qemu-img} call, carrying its own error text (what a user needs to see). */
public final class QemuImgException extends RuntimeException {
    private final List<String> command;
    private final int exitCode;

    public QemuImgException(List<String> command, int exitCode, String stderr) {
        super(stderr.startsWith("qemu-img: ") ? stderr.substring("qemu-img: ".length()) : stderr);
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
    }

    public List<String> command() {
        return command;
    }

    public int exitCode() {
        return exitCode;
    }
}
