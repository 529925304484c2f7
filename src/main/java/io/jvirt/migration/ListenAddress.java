package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Where a destination's QEMU listens (its incoming migration, its NBD server): the address the source reached. */
final class ListenAddress {
    private ListenAddress() {
    }

    /** A port free on {@code host} now (QEMU binds it a moment later). */
    static int freePort(String host) {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "no free port on " + host + ": " + e.getMessage());
        }
    }

    /** {@code address} as the host of a QEMU URI ({@code [v6]} bracketed). */
    static String uriHost(String address) {
        return address.indexOf(':') >= 0 ? "[" + address + "]" : address;
    }
}
