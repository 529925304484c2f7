package io.jvirt.confine;

import java.nio.file.Path;
import java.util.List;

/**
 * A disk's backing chain as jvirt checked it: the top image first, its backing file next, down to the base.
 * Every path is a real path that passed the {@link PathPolicy}; every format was given or recorded in the
 * overlay's header (never probed). QEMU is handed exactly this chain ({@link BlockdevChain}), so no image header
 * can make it open anything else.
 */
public record ImageChain(List<Layer> layers) {
    public ImageChain {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("a chain has at least its top image");
        }
    }

    /** One image: its real path, its format ({@code qcow2} or {@code raw}) and its virtual size. */
    public record Layer(Path path, String format, long virtualSize) {
    }

    public Layer top() {
        return layers.get(0);
    }

    /** The layers below the top: read-only while a VM runs on the chain. */
    public List<Layer> backing() {
        return layers.subList(1, layers.size());
    }

    public List<Path> paths() {
        return layers.stream().map(Layer::path).toList();
    }
}
