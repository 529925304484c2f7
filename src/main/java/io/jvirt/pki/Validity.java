package io.jvirt.pki;

import java.time.Duration;
import java.time.Instant;

/**
 * When a certificate is valid. Starts a few minutes in the past so a peer whose clock is slightly behind still
 * accepts a certificate issued a moment ago; any window can be given (tests make expired ones).
 */
public record Validity(Instant notBefore, Instant notAfter) {
    private static final Duration SKEW = Duration.ofMinutes(5);

    public Validity {
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("a certificate must end after it starts: " + notBefore + " .. " + notAfter);
        }
    }

    /** From now (minus clock skew) for {@code days} days. */
    public static Validity days(long days) {
        Instant now = Instant.now();
        return new Validity(now.minus(SKEW), now.plus(Duration.ofDays(days)));
    }

    /** A CA's default: 10 years. */
    public static Validity caDefault() {
        return days(3653);
    }

    /** Server and client certificates' default: 2 years (renew with the same command). */
    public static Validity leafDefault() {
        return days(730);
    }
}
