package io.jvirt.confine;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Map;

/** Granting or taking back QEMU's access to a file failed; the message names the file and the tool's error. */
public final class LabelException extends JvirtException {
    public LabelException(String message) {
        super(ErrorCode.INTERNAL, message);
    }

    public LabelException(String message, Throwable cause) {
        super(ErrorCode.INTERNAL, message, Map.of(), cause);
    }
}
