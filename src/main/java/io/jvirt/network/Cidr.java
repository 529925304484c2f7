package io.jvirt.network;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * An address with its prefix, {@code 10.77.0.1/24} or {@code fd77::1/64}: the host's address on a bridge and the
 * subnet it spans. Parsing accepts literals only (never a name to resolve).
 */
record Cidr(InetAddress address, int prefix) {
    private static final Pattern V4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    /** Parses {@code ADDRESS/PREFIX}; null when it is not one. */
    static Cidr parse(String s) {
        if (s == null) {
            return null;
        }
        int slash = s.indexOf('/');
        if (slash < 0) {
            return null;
        }
        InetAddress a = literal(s.substring(0, slash));
        int prefix;
        try {
            prefix = Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (a == null || prefix < 0 || prefix > bits(a)) {
            return null;
        }
        return new Cidr(a, prefix);
    }

    /** An IPv4 or IPv6 literal, or null. */
    static InetAddress literal(String s) {
        if (s == null || !(V4.matcher(s).matches() || (s.contains(":") && V6.matcher(s).matches()))) {
            return null;
        }
        try {
            return InetAddress.getByName(s); // a literal: no lookup happens
        } catch (UnknownHostException e) {
            return null;
        }
    }

    boolean isV4() {
        return address instanceof Inet4Address;
    }

    static int bits(InetAddress a) {
        return a instanceof Inet6Address ? 128 : 32;
    }

    private static BigInteger number(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    private InetAddress fromNumber(BigInteger n) {
        byte[] raw = n.toByteArray();
        byte[] out = new byte[bits(address) / 8];
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private BigInteger mask() {
        int hostBits = bits(address) - prefix;
        return BigInteger.ONE.shiftLeft(bits(address)).subtract(BigInteger.ONE)
                .xor(BigInteger.ONE.shiftLeft(hostBits).subtract(BigInteger.ONE));
    }

    BigInteger first() {
        return number(address).and(mask());
    }

    BigInteger last() {
        return first().add(BigInteger.ONE.shiftLeft(bits(address) - prefix).subtract(BigInteger.ONE));
    }

    /** The subnet itself, e.g. {@code 10.77.0.0/24}. */
    String network() {
        return fromNumber(first()).getHostAddress() + "/" + prefix;
    }

    String host() {
        return address.getHostAddress();
    }

    boolean contains(InetAddress a) {
        if (bits(a) != bits(address)) {
            return false;
        }
        BigInteger n = number(a);
        return n.compareTo(first()) >= 0 && n.compareTo(last()) <= 0;
    }

    boolean overlaps(Cidr other) {
        return bits(other.address) == bits(address)
                && first().compareTo(other.last()) <= 0 && other.first().compareTo(last()) <= 0;
    }

    /** The address {@code offset} from the subnet's start; negative from its end ({@code at(-1)} is the last). */
    InetAddress at(long offset) {
        return fromNumber(offset >= 0 ? first().add(BigInteger.valueOf(offset)) : last().add(BigInteger.valueOf(offset + 1)));
    }

    /** The address {@code by} after (or before) {@code a}. */
    InetAddress next(InetAddress a, int by) {
        return fromNumber(number(a).add(BigInteger.valueOf(by)));
    }

    /** Addresses in [from, to] (both inclusive), as numbers. */
    static BigInteger span(InetAddress from, InetAddress to) {
        return number(to).subtract(number(from)).add(BigInteger.ONE);
    }

    static int compare(InetAddress a, InetAddress b) {
        return number(a).compareTo(number(b));
    }

    /** Dotted netmask of an IPv4 prefix (dnsmasq's dhcp-range wants it). */
    String netmask() {
        return fromNumber(mask()).getHostAddress();
    }

    @Override
    public String toString() {
        return host() + "/" + prefix;
    }
}
