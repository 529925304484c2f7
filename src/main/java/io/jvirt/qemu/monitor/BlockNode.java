package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One node of {@code query-named-block-nodes} (flat): its name, driver ({@code file} for a protocol node, the
 * format otherwise), the file it has open, and the backing file its header names (relative as written).
 */
public record BlockNode(String nodeName, String drv, String file, @JsonProperty("backing_file") String backingFile) {

    public boolean isFileNode() {
        return "file".equals(drv);
    }
}
