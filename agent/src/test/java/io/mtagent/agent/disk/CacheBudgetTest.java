package io.mtagent.agent.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The back-pressure gate with its two caps: the cache volume's backlog and the memory held before group commit.
 * Either cap parks the session that offered; it reads again only when both are below 90 % of their caps.
 */
class CacheBudgetTest {
    private final AtomicLong backlog = new AtomicLong();
    private final AtomicLong memory = new AtomicLong();
    private final List<String> events = new ArrayList<>();
    private final CacheBudget gate = new CacheBudget(1000, backlog::get, 100, memory::get);

    {
        gate.bind(s -> events.add("pause " + s), s -> events.add("resume " + s));
    }

    @Test
    void theMemoryCapParksAndResumesBelowNinetyPercent() {
        assertThat(gate.overCap()).isFalse();
        memory.set(100);
        assertThat(gate.overCap()).as("at the memory cap").isTrue();
        assertThat(gate.cacheVolumeOverCap()).as("not a full cache volume (health)").isFalse();
        gate.park("s1");
        assertThat(events).containsExactly("pause s1");
        memory.set(95);
        gate.drained();
        assertThat(gate.parkedCount()).as("95 of 100: above the resume mark").isEqualTo(1);
        memory.set(89);
        gate.drained();
        assertThat(events).containsExactly("pause s1", "resume s1");
        assertThat(gate.parkedCount()).isZero();
    }

    @Test
    void oneCapNeverLetsASessionReadWhileTheOtherHoldsIt() {
        memory.set(150);
        backlog.set(2000);
        gate.park("s1");
        memory.set(0); // the group commits caught up, the appliers did not
        gate.drained();
        assertThat(events).as("the cache cap still holds it").containsExactly("pause s1");
        backlog.set(899);
        gate.drained();
        assertThat(events).containsExactly("pause s1", "resume s1");
    }

    @Test
    void withoutAMemoryCapOnlyTheBacklogCounts() {
        CacheBudget cacheOnly = new CacheBudget(1000, backlog::get);
        memory.set(Long.MAX_VALUE / 2);
        assertThat(cacheOnly.overCap()).isFalse();
        backlog.set(1000);
        assertThat(cacheOnly.overCap()).isTrue();
    }
}
