package io.jvirt.images;

import java.util.List;
import java.util.Optional;

/** The entries of one virt-builder index, in file order. */
public record TemplateIndex(List<IndexEntry> entries) {
    public TemplateIndex {
        entries = List.copyOf(entries);
    }

    /** The entry with this id, or the first whose aliases contain it. */
    public Optional<IndexEntry> find(String idOrAlias) {
        for (IndexEntry e : entries) {
            if (e.id().equals(idOrAlias)) {
                return Optional.of(e);
            }
        }
        return entries.stream().filter(e -> e.aliases().contains(idOrAlias)).findFirst();
    }

    public List<IndexEntry> visible() {
        return entries.stream().filter(e -> !e.hidden()).toList();
    }
}
