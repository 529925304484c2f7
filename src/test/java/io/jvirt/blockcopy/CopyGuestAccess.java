package io.jvirt.blockcopy;

import java.nio.file.Path;

/** CopyGuest's host-side reads for tests of other packages (migration proves acknowledged writes the same way). */
public final class CopyGuestAccess {
    private CopyGuestAccess() {
    }

    public static String sector0(Path image, String format) {
        return CopyGuest.sector0(image, format);
    }

    public static long lastSeq(String console) {
        return CopyGuest.lastSeq(console);
    }
}
