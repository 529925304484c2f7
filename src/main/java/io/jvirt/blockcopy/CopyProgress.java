package io.jvirt.blockcopy;

import io.jvirt.storage.Sizes;

/**
 * How far a copy is, in bytes, as QEMU counts it: {@code total} grows while the guest dirties blocks already
 * copied, so {@code remaining} can go up again. {@code rate} is bytes per second over the last sample.
 */
public record CopyProgress(long transferred, long total, long remaining, long rate, double percent) {

    static CopyProgress of(long offset, long len, long rate) {
        double pct = len <= 0 ? 0 : Math.min(100.0, 100.0 * offset / len);
        return new CopyProgress(offset, len, Math.max(0, len - offset), rate, Math.round(pct * 10) / 10.0);
    }

    String describe() {
        return String.format("%s of %s copied (%.1f %%), %s/s", Sizes.human(transferred), Sizes.human(total), percent,
                Sizes.human(rate));
    }
}
