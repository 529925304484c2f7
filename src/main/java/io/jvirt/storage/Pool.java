package io.jvirt.storage;

import java.nio.file.Path;

/** A directory whose image files the daemon manages as volumes. */
public record Pool(String name, Path path) {
}
