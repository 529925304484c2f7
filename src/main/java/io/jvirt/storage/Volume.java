package io.jvirt.storage;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What {@code qemu-img info} says about a volume: sizes in bytes ({@code allocation} is what the file uses on the
 * host) and the backing chain, nearest first.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Volume(String name, String pool, String path, String format, long virtualSize, long allocation,
        String backingFile, String backingFormat, List<BackingImage> backingChain) {

    /** One image below the volume in its chain. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BackingImage(String path, String format, long virtualSize, String backingFile) {
    }
}
