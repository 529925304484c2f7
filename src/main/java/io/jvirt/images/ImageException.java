package io.jvirt.images;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Map;

/** Failures of the image layer; each maps to one stable API error code. */
final class ImageException {
    private ImageException() {
    }

    static JvirtException badSignature(String source, String why) {
        return new JvirtException(ErrorCode.BAD_SIGNATURE, "the index of image source '" + source
                + "' is not validly signed by its configured key: " + why, Map.of("source", source));
    }

    static JvirtException badIndex(String source, String why) {
        return new JvirtException(ErrorCode.BAD_INDEX, "the index of image source '" + source + "' is invalid: " + why,
                Map.of("source", source));
    }

    static JvirtException unreachable(String source, String why) {
        return new JvirtException(ErrorCode.SOURCE_UNREACHABLE, "image source '" + source + "': " + why,
                Map.of("source", source));
    }

    static JvirtException checksum(String template, String expected, String actual) {
        return new JvirtException(ErrorCode.CHECKSUM_MISMATCH, "template '" + template
                + "' does not match the sha512 of the signed index (download deleted): expected " + expected
                + ", got " + actual, Map.of("template", template, "expected", expected, "actual", actual));
    }

    static JvirtException notFound(String template) {
        return new JvirtException(ErrorCode.IMAGE_NOT_FOUND, "no template '" + template + "' in any image source",
                Map.of("template", template));
    }

    static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }

    static JvirtException tool(String message) {
        return new JvirtException(ErrorCode.IMAGE_TOOL_FAILED, message);
    }
}
