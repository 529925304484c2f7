package io.jvirt.qemu.monitor;

/**
 * A guest agent call failed: the agent did not answer in time, answered with an error, sent something that is no
 * reply, or its channel is not there. The message says which, in words a user can act on.
 */
public final class GuestAgentException extends RuntimeException {
    /** Why the call failed. */
    public enum Kind {
        /** No answer within the call's timeout (a hung, stopped or paused agent). */
        TIMEOUT,
        /** The agent answered with an error (its class and description are in the message). */
        ERROR,
        /** A reply too large, or not a reply at all (garbage in the channel). */
        PROTOCOL,
        /** The channel could not be opened or closed under the call (no QEMU, or QEMU going away). */
        UNAVAILABLE
    }

    private final Kind kind;
    private final String command;

    GuestAgentException(Kind kind, String command, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.command = command;
    }

    public Kind kind() {
        return kind;
    }

    /** The agent command that failed (null for the connection itself). */
    public String command() {
        return command;
    }
}
