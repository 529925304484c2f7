package io.jvirt.error;

import java.util.HashMap;
import java.util.Map;

/**
 * Stable error codes of the jvirt API (docs/api.md lists them). Each knows its wire name, its HTTP status and its
 * {@link Kind}, which is what a client maps to an exit code; every layer may import this package.
 */
public enum ErrorCode {
    INVALID_ARGUMENT("invalid-argument", 400, Kind.INVALID),
    INVALID_DEFINITION("invalid-definition", 400, Kind.INVALID),
    INVALID_NAME("invalid-name", 400, Kind.INVALID),
    VM_NOT_FOUND("vm-not-found", 404, Kind.NOT_FOUND),
    OPERATION_NOT_FOUND("operation-not-found", 404, Kind.NOT_FOUND),
    NOT_FOUND("not-found", 404, Kind.FAILURE),
    VM_EXISTS("vm-exists", 409, Kind.CONFLICT),
    INVALID_STATE("invalid-state", 409, Kind.CONFLICT),
    VM_BUSY("vm-busy", 409, Kind.CONFLICT),
    DISK_NOT_FOUND("disk-not-found", 400, Kind.INVALID),
    SNAPSHOT_NOT_FOUND("snapshot-not-found", 404, Kind.NOT_FOUND),
    SNAPSHOT_EXISTS("snapshot-exists", 409, Kind.CONFLICT),
    QEMU_FAILED("qemu-failed", 500, Kind.QEMU),
    TIMEOUT("timeout", 504, Kind.TIMEOUT),
    CANCELLED("cancelled", 409, Kind.FAILURE),
    METHOD_NOT_ALLOWED("method-not-allowed", 405, Kind.FAILURE),
    IMAGE_NOT_FOUND("image-not-found", 404, Kind.NOT_FOUND),
    BAD_SIGNATURE("bad-signature", 502, Kind.FAILURE),
    BAD_INDEX("bad-index", 502, Kind.FAILURE),
    BAD_BUNDLE("bad-bundle", 400, Kind.INVALID),
    CHECKSUM_MISMATCH("checksum-mismatch", 502, Kind.FAILURE),
    SOURCE_UNREACHABLE("source-unreachable", 502, Kind.FAILURE),
    VOLUME_EXISTS("volume-exists", 409, Kind.CONFLICT),
    IMAGE_TOOL_FAILED("image-tool-failed", 500, Kind.FAILURE),
    POOL_NOT_FOUND("pool-not-found", 404, Kind.NOT_FOUND),
    POOL_EXISTS("pool-exists", 409, Kind.CONFLICT),
    VOLUME_NOT_FOUND("volume-not-found", 404, Kind.NOT_FOUND),
    VOLUME_IN_USE("volume-in-use", 409, Kind.CONFLICT),
    INVALID_VOLUME("invalid-volume", 400, Kind.INVALID),
    NO_BLOCK_JOB("no-block-job", 404, Kind.NOT_FOUND),
    DESTINATION_EXISTS("destination-exists", 409, Kind.CONFLICT),
    /** The guest is held paused: QEMU switched a disk and the definition could not name it yet. */
    GUEST_HELD("guest-held", 409, Kind.CONFLICT),
    /** QEMU switched a disk but the durable definition write failed (the guest is held paused). */
    DEFINITION_NOT_WRITTEN("definition-not-written", 500, Kind.FAILURE),
    /** A NIC's MAC is already used by another VM of this host. */
    MAC_IN_USE("mac-in-use", 409, Kind.CONFLICT),
    NETWORK_NOT_FOUND("network-not-found", 404, Kind.NOT_FOUND),
    NETWORK_EXISTS("network-exists", 409, Kind.CONFLICT),
    /** A network definition is malformed or inconsistent (e.g. a DHCP range outside its subnet). */
    INVALID_NETWORK("invalid-network", 400, Kind.INVALID),
    /** A network collides with the host: a route, another network's subnet, a bridge that is not its own. */
    NETWORK_CONFLICT("network-conflict", 409, Kind.CONFLICT),
    /** A running VM has a NIC on the network (destroy, undefine). */
    NETWORK_IN_USE("network-in-use", 409, Kind.CONFLICT),
    /** ip, nft or dnsmasq failed; the message has the tool's own words. */
    NETWORK_FAILED("network-failed", 500, Kind.FAILURE),
    /** A disk, kernel, initrd or pool path outside what jvirt lets QEMU touch (details: path, rule). */
    PATH_NOT_ALLOWED("path-not-allowed", 400, Kind.INVALID),
    /** A writable disk another VM already uses (as its disk or as a layer of its backing chain). */
    DISK_IN_USE("disk-in-use", 409, Kind.CONFLICT),
    /** The caller's role does not allow this (a read-only socket or certificate asking for a change). */
    FORBIDDEN("forbidden", 403, Kind.FAILURE),
    /** A state-changing request whose body is not JSON (nor the octet-stream an upload or console input takes). */
    UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", 415, Kind.INVALID),
    /** A TLS request whose Host is not a name of the server's certificate (DNS rebinding). */
    MISDIRECTED("misdirected-request", 421, Kind.FAILURE),
    /** A client limit of the daemon is reached (connections, streams, waits); the details name it. */
    LIMIT_REACHED("limit-reached", 503, Kind.UNAVAILABLE),
    /** The guest agent answered with an error, sent something that is no reply, or its channel is not there. */
    AGENT_ERROR("agent-error", 502, Kind.FAILURE),
    /** A migration's destination daemon cannot be reached or refused our certificate (details: peer). */
    PEER_UNREACHABLE("peer-unreachable", 502, Kind.UNAVAILABLE),
    /** The connection to a migration's peer daemon broke or went silent; the migration was cancelled. */
    PEER_LOST("peer-lost", 502, Kind.FAILURE),
    /** A migration failed in QEMU, or does not converge under the user's policy; the source keeps running. */
    MIGRATION_FAILED("migration-failed", 500, Kind.FAILURE),
    /** The guest refused (or did not finish) releasing a device; the device stays (docs/hotplug.md). */
    GUEST_REFUSED("guest-refused", 409, Kind.CONFLICT),
    INTERNAL("internal", 500, Kind.FAILURE);

    /** What kind of failure a code is, for clients that only need the class (the CLI's exit codes). */
    public enum Kind { INVALID, NOT_FOUND, CONFLICT, TIMEOUT, QEMU, FAILURE, UNAVAILABLE }

    private static final Map<String, ErrorCode> BY_WIRE = new HashMap<>();

    static {
        for (ErrorCode c : values()) {
            BY_WIRE.put(c.code, c);
        }
    }

    private final String code;
    private final int httpStatus;
    private final Kind kind;

    ErrorCode(String code, int httpStatus, Kind kind) {
        this.code = code;
        this.httpStatus = httpStatus;
        this.kind = kind;
    }

    /** The wire name, e.g. {@code vm-busy}. */
    public String code() {
        return code;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public Kind kind() {
        return kind;
    }

    /** The code with this wire name, or null for one this build does not know. */
    public static ErrorCode fromWire(String wire) {
        return wire == null ? null : BY_WIRE.get(wire);
    }
}
