package io.jvirt.pki;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * What {@code jvirt pki} accepts as a client name and as a server's host names, checked before anything is
 * written: a client name becomes a file name ({@code clients/NAME.pem}), a host name a subject alternative name.
 */
final class SubjectNames {
    private static final Pattern CLIENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern DNS_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private SubjectNames() {
    }

    static String checkClientName(String name) {
        if (name == null || !CLIENT.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("invalid client name '" + name + "': use 1-63 letters, digits, '.', '_'"
                    + " or '-', starting with a letter or digit");
        }
        return name;
    }

    /** An IP literal (v4 or v6), parsed without any DNS lookup; null if {@code host} is not one. */
    static InetAddress ipLiteral(String host) {
        if (!IPV4.matcher(host).matches() && !host.contains(":")) {
            return null;
        }
        if (IPV4.matcher(host).matches()) {
            for (String part : host.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    throw new IllegalArgumentException("'" + host + "' is not a valid IPv4 address");
                }
            }
        }
        try {
            return InetAddress.getByName(host); // a literal: getByName does not resolve it
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + host + "' is not a valid IP address");
        }
    }

    /** A DNS name for a certificate: labels of letters, digits and inner '-', at most 253 characters, no wildcard. */
    static String checkDnsName(String host) {
        if (host == null || host.isEmpty() || host.length() > 253) {
            throw new IllegalArgumentException("invalid host name '" + host + "'");
        }
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        for (String label : h.split("\\.", -1)) {
            if (!DNS_LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("invalid host name '" + host + "': each dot-separated part must be"
                        + " 1-63 letters, digits or inner '-' (no wildcards)");
            }
        }
        return h.toLowerCase(java.util.Locale.ROOT);
    }
}
