package io.jvirt.qemu;

/** The QEMU accelerator a VM runs on. */
public enum Accelerator {
    KVM, TCG;

    public String qemuName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Accelerator parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "kvm" -> KVM;
            case "tcg" -> TCG;
            default -> throw new IllegalArgumentException("unknown accelerator '" + s + "' (kvm or tcg)");
        };
    }
}
