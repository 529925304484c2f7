package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Per-VM uids: distinct while their QEMUs run, kept across a restart for live VMs only, never two per uid. */
class QemuIdsTest {
    @Test
    void eachRunningVmHasItsOwnUid() {
        QemuIds ids = new QemuIds(70000, 70002, Map.of());
        int a = ids.allocate("a");
        int b = ids.allocate("b");
        assertThat(a).isEqualTo(70000);
        assertThat(b).isEqualTo(70001);
        assertThat(ids.allocate("a")).isEqualTo(a); // asked again while it runs: the same
        ids.allocate("c");
        assertThatThrownBy(() -> ids.allocate("d")).isInstanceOf(LabelException.class).hasMessageContaining("--qemu-uids");
        ids.free("b");
        assertThat(ids.allocate("d")).isEqualTo(70001);
    }

    @Test
    void aRestartKeepsTheUidsOfLiveVmsOnly() {
        // what the ledger recorded: a and b were running when the daemon died; b's QEMU is gone now
        QemuIds ids = new QemuIds(70000, 70009, Map.of("a", 70003, "b", 70004));
        assertThat(ids.reconcile(Set.of("a"))).containsExactly("b");
        assertThat(ids.uid("a")).hasValue(70003);
        assertThat(ids.uid("b")).isEmpty();
        assertThat(ids.allocate("c")).isEqualTo(70000);
        assertThat(ids.allocate("e")).isEqualTo(70001);
        assertThat(ids.allocate("f")).isEqualTo(70002);
        assertThat(ids.allocate("g")).isEqualTo(70004); // 70003 is still a's
    }

    @Test
    void rangesAreParsedAndCheckedAgainstTheHost() {
        assertThat(QemuIds.parseRange("70000-70255")).containsExactly(70000, 70255);
        assertThatThrownBy(() -> QemuIds.parseRange("70000")).hasMessageContaining("FIRST-LAST");
        assertThatThrownBy(() -> new QemuIds(5, 4, Map.of())).isInstanceOf(IllegalArgumentException.class);
        assertThat(QemuIds.conflict(70000, 70255)).isNull();
        // root's uid and group 0 are in every passwd and group database
        assertThat(QemuIds.conflict(0, 10)).contains("passwd entry root");
    }
}
