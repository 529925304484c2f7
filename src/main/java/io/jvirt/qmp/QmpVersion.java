package io.jvirt.qmp;

/**
 * QEMU's version as announced in the QMP greeting.
 *
 * @param packageName distribution build string, e.g. {@code "Debian 1:7.2+dfsg-7"}; empty for upstream
 *                    builds ({@code package} is what QMP calls it, but that is a Java keyword)
 */
public record QmpVersion(int major, int minor, int micro, String packageName) implements Comparable<QmpVersion> {

    public QmpVersion {
        packageName = packageName == null ? "" : packageName;
    }

    /** True if this version is at least {@code major.minor}, for feature checks. */
    public boolean isAtLeast(int major, int minor) {
        return this.major > major || (this.major == major && this.minor >= minor);
    }

    @Override
    public int compareTo(QmpVersion other) {
        int c = Integer.compare(major, other.major);
        if (c == 0) {
            c = Integer.compare(minor, other.minor);
        }
        return c != 0 ? c : Integer.compare(micro, other.micro);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + micro + (packageName.isEmpty() ? "" : " (" + packageName + ")");
    }
}
