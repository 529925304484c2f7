package io.jvirt.images;

/** An index text that is not virt-builder's format, with the line where it went wrong. */
public final class IndexFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public IndexFormatException(int line, String message) {
        super(line > 0 ? "index line " + line + ": " + message : message);
    }
}
