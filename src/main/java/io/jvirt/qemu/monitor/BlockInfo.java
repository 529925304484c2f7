package io.jvirt.qemu.monitor;

/**
 * One block device of {@code query-block}: its qdev path (which names jvirt's device id) and, when a medium is
 * inserted, the top node the device runs on.
 */
public record BlockInfo(String device, String qdev, Inserted inserted) {

    /** The medium: the top (format) node, its file, and the image chain as QEMU reads it. */
    public record Inserted(String nodeName, String file, ImageInfo image) {
    }
}
