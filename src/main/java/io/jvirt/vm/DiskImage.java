package io.jvirt.vm;

/** The image a disk of the definition runs on: the only part a disk switch (pivot, snapshot, merge) changes. */
public record DiskImage(String path, String format) {
}
