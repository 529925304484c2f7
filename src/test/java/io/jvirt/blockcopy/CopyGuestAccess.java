package io.jvirt.blockcopy;

import java.nio.file.Path;

/** CopyGuest's host-side reads for tests of other packages (migration proves acknowledged writes the same way). */
public final class CopyGuestAccess {
    private CopyGuestAccess() {
    }

    public static String sector0(Path image, String format) {
        return CopyGuest.sector0(image, format);
    }

    /** The backing file qemu-img records in an image's header. */
    public static String backing(Path image) {
        String out = CopyGuest.run("qemu-img", "info", "-U", "--output=json", image.toString());
        int i = out.indexOf("\"backing-filename\":");
        if (i < 0) {
            return null;
        }
        int q = out.indexOf('"', out.indexOf(':', i) + 1);
        return out.substring(q + 1, out.indexOf('"', q + 1));
    }

    public static long lastSeq(String console) {
        return CopyGuest.lastSeq(console);
    }
}
