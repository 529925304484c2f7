package io.jvirt.vm;

import java.time.Instant;
import java.util.function.Consumer;

/**
 * The guest of this VM must not run: QEMU already runs its disks on images the stored definition does not name
 * yet (the durable write after a disk switch failed). Until {@code retry} has written the definition, a resume
 * or start would let the guest write where a cold boot would not look, so both retry first and are refused if
 * the retry fails again. Held in memory; after a daemon restart the capability's own records (copy record,
 * snapshot intent) bring the hold back through its recovery.
 *
 * @param reason what happened, said plainly (shown in {@code info} and in the refusal)
 * @param retry  writes the definition (and the capability's records) within the job of the resume or start
 */
public record GuestHold(String reason, Instant since, Consumer<VmJobContext> retry) {
}
