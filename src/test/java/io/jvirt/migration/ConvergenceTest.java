package io.jvirt.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The convergence policy on recorded shapes of RAM remaining per pass (pure logic). */
class ConvergenceTest {
    @Test
    void shrinkingRamNeverStalls() {
        Convergence c = new Convergence(300, 2000, false);
        long remaining = 100 << 20;
        for (long pass = 1; pass < 20; pass++) {
            assertThat(c.sample(pass, remaining)).isEqualTo(Convergence.Action.NONE);
            remaining = remaining * 8 / 10;
        }
        assertThat(c.stalled()).isFalse();
    }

    @Test
    void aStallRaisesTheDowntimeUpToTheMaximumThenGivesUp() {
        Convergence c = new Convergence(300, 1000, false);
        long pass = 1;
        c.sample(pass++, 128 << 20);
        assertThat(c.sample(pass++, 40 << 20)).isEqualTo(Convergence.Action.NONE); // best so far
        assertThat(c.sample(pass++, 41 << 20)).isEqualTo(Convergence.Action.NONE);
        assertThat(c.sample(pass++, 39 << 20)).isEqualTo(Convergence.Action.NONE); // not 10 % better
        assertThat(c.sample(pass++, 42 << 20)).isEqualTo(Convergence.Action.RAISE_DOWNTIME);
        assertThat(c.downtimeLimit()).isEqualTo(600);
        assertThat(c.stalled()).isTrue();
        for (int i = 0; i < 2; i++) {
            assertThat(c.sample(pass++, 40 << 20)).isEqualTo(Convergence.Action.NONE);
        }
        assertThat(c.sample(pass++, 40 << 20)).isEqualTo(Convergence.Action.RAISE_DOWNTIME);
        assertThat(c.downtimeLimit()).isEqualTo(1000);
        for (int i = 0; i < 2; i++) {
            c.sample(pass++, 40 << 20);
        }
        assertThat(c.sample(pass, 40 << 20)).isEqualTo(Convergence.Action.GIVE_UP);
    }

    @Test
    void withAutoConvergeItThrottlesInsteadOfGivingUp() {
        Convergence c = new Convergence(300, 300, true);
        for (long pass = 1; pass <= 5; pass++) {
            c.sample(pass, 50 << 20);
        }
        assertThat(c.sample(6, 50 << 20)).isEqualTo(Convergence.Action.THROTTLE);
    }

    @Test
    void recoveringAfterAStallClearsIt() {
        Convergence c = new Convergence(300, 300, false);
        for (long pass = 1; pass <= 5; pass++) {
            c.sample(pass, 50 << 20);
        }
        assertThat(c.stalled()).isTrue();
        assertThat(c.sample(6, 10 << 20)).isEqualTo(Convergence.Action.NONE);
        assertThat(c.stalled()).isFalse();
    }
}
