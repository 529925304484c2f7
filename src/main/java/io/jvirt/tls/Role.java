package io.jvirt.tls;

import java.util.List;

/**
 * What a client certificate lets its holder do, carried in the certificate's subject as one organizational unit
 * ({@code OU=jvirt-read-only}, {@code OU=jvirt-read-write} or {@code OU=jvirt-host}). The subject is trustworthy
 * because jvirtd trusts no CA but its own; it shows in every standard tool ({@code openssl x509 -noout -subject})
 * and needs no private OID. A certificate with none of these, or more than one, has no role and is refused in the
 * handshake: a role is never guessed.
 */
public enum Role {
    /** Every GET and the event stream; nothing that changes anything. */
    READ_ONLY("jvirt-read-only"),
    /** The whole API: equivalent to root on the host, like the read-write Unix socket. */
    READ_WRITE("jvirt-read-write"),
    /** A jvirtd host (its server certificate used as a client): read-write, and a migration peer. */
    HOST("jvirt-host");

    private final String unit;

    Role(String unit) {
        this.unit = unit;
    }

    /** The OU value that marks this role. */
    public String organizationalUnit() {
        return unit;
    }

    /** Whether requests that change something (POST, PUT, DELETE, console input) are allowed. */
    public boolean mayModify() {
        return this != READ_ONLY;
    }

    /** The role named by exactly one of these OU values, or null when none or several do. */
    public static Role fromUnits(List<String> units) {
        Role found = null;
        for (String u : units) {
            for (Role r : values()) {
                if (r.unit.equals(u)) {
                    if (found != null && found != r) {
                        return null;
                    }
                    found = r;
                }
            }
        }
        return found;
    }
}
