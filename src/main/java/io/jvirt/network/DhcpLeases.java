package io.jvirt.network;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * dnsmasq's lease database, as dnsmasq itself keeps it (one line per lease: expiry, MAC, address, hostname,
 * client id; for DHCPv6 the MAC field is the IAID and a {@code duid} line comes first). Answers come from this file,
 * never from guesses; a lease past its expiry is left out.
 */
final class DhcpLeases {
    private DhcpLeases() {
    }

    /** One lease. {@code mac} is null for a DHCPv6 lease (identified by its IAID). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Lease(String network, String mac, String ip, String hostname, String clientId, Instant expires, String iaid) {
    }

    static List<Lease> read(String network, Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            return List.of();
        }
        return parse(network, lines, Instant.now());
    }

    static List<Lease> parse(String network, List<String> lines, Instant now) {
        List<Lease> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || f[0].equals("duid")) {
                continue;
            }
            long expiry;
            try {
                expiry = Long.parseLong(f[0]);
            } catch (NumberFormatException e) {
                continue;
            }
            Instant expires = expiry == 0 ? null : Instant.ofEpochSecond(expiry); // 0: an infinite lease
            if (expires != null && expires.isBefore(now)) {
                continue;
            }
            boolean v6 = f[2].contains(":");
            String host = f[3].equals("*") ? null : f[3];
            String client = f.length > 4 && !f[4].equals("*") ? f[4] : null;
            out.add(new Lease(network, v6 ? null : f[1].toLowerCase(Locale.ROOT), f[2], host, client, expires, v6 ? f[1] : null));
        }
        return out;
    }
}
