package io.mtagent.agent.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.apply.Applier;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AgentHealthTest {
    private static final class Disk implements AgentHealth.DiskView {
        Applier.State state = Applier.State.RUNNING;
        boolean alive = true;
        long applied;
        long durable;

        @Override public String id() { return "d"; }
        @Override public Applier.State applierState() { return state; }
        @Override public boolean applierLoopAlive() { return alive; }
        @Override public long appliedSeq() { return applied; }
        @Override public long durableSeq() { return durable; }
    }

    private final AtomicLong now = new AtomicLong();
    private final AgentHealth health = new AgentHealth(Duration.ofSeconds(60), now::get);

    private void advance(long seconds) {
        now.addAndGet(seconds * 1_000_000_000L);
    }

    @Test
    void idleAndProgressingAppliersAreHealthy() {
        Disk d = new Disk();
        assertThat(health.hangReason(List.of(d))).isEmpty();
        advance(600);
        assertThat(health.hangReason(List.of(d))).isEmpty(); // nothing to apply: idle is fine
        d.durable = 100;
        for (int i = 0; i < 10; i++) {
            advance(50);
            d.applied += 5; // slow but moving
            assertThat(health.hangReason(List.of(d))).isEmpty();
        }
    }

    @Test
    void stalledApplierWithWorkIsAHang() {
        Disk d = new Disk();
        d.durable = 10;
        assertThat(health.hangReason(List.of(d))).isEmpty();
        advance(59);
        assertThat(health.hangReason(List.of(d))).isEmpty();
        advance(2);
        assertThat(health.hangReason(List.of(d))).get().asString().contains("no progress");
    }

    @Test
    void failedOrPausedDiskIsNotAHangButADeadThreadIs() {
        Disk d = new Disk();
        d.durable = 10;
        d.state = Applier.State.FAILED;
        d.alive = false;
        health.hangReason(List.of(d));
        advance(3600);
        assertThat(health.hangReason(List.of(d))).isEmpty();
        d.state = Applier.State.PAUSED;
        d.alive = true;
        advance(3600);
        assertThat(health.hangReason(List.of(d))).isEmpty();
        d.state = Applier.State.RUNNING;
        d.alive = false;
        assertThat(health.hangReason(List.of(d))).get().asString().contains("ended while");
    }
}
