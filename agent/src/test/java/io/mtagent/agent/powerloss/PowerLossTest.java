package io.mtagent.agent.powerloss;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Power-loss test of the real agent on lossyfs (see {@link PowerLossHarness} for what is checked, and
 * agent/src/test/fuse/README.md for the file system and the long profile): the default run makes
 * {@code -Dpowerloss.cuts} (50) cuts and must find nothing; with each test-only fault switched on
 * ({@link BrokenBuild}: test code only, installed in the agent's child JVM) the same checker must find a violation within
 * {@code -Dpowerloss.fault.cuts} (100) cuts. {@code -Dpowerloss.seed} replays a run. A run stops at its first
 * violation, so the budget costs time only when a broken build goes unseen for long: the reuse fault took 4 to 36
 * cuts in five runs, and at 50 about one run in a hundred would have failed for want of cuts, not of a checker.
 */
class PowerLossTest {
    private static final int CUTS = Integer.getInteger("powerloss.cuts", 50);
    private static final int FAULT_CUTS = Integer.getInteger("powerloss.fault.cuts", 100);

    @TempDir
    Path work;

    @BeforeEach
    void needsFuse() {
        String why = LossyFs.unavailableReason();
        if (why != null) {
            System.err.println("*** SKIPPED PowerLossTest: lossyfs cannot run here: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
    }

    private static long seed() {
        return Long.getLong("powerloss.seed", System.nanoTime());
    }

    @Test
    void nothingAcknowledgedIsLostAndEveryPointReadsBack() throws Exception {
        long seed = seed();
        PowerLossHarness.Report report;
        try (PowerLossHarness h = new PowerLossHarness(work, seed, List.of())) {
            report = h.run(CUTS);
        }
        System.out.println("power-loss run, seed " + seed + " (-Dpowerloss.seed=" + seed + "): " + report);
        assertThat(report.violations()).as("seed %d: %s", seed, report).isEmpty();
        assertThat(report.cuts()).isGreaterThanOrEqualTo(CUTS);
        assertThat(report.targetsCompared()).isGreaterThan(CUTS);
        assertThat(report.pointsExported()).isPositive();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(BrokenBuild.class)
    void aBrokenPromiseIsCaught(BrokenBuild fault) throws Exception {
        long seed = seed();
        PowerLossHarness.Report report;
        try (PowerLossHarness h = new PowerLossHarness(work, seed, List.of(fault.flag()))) {
            report = h.run(FAULT_CUTS);
        }
        System.out.println("power-loss run with fault " + fault + ", seed " + seed + ": " + report);
        assertThat(report.violations()).as("fault %s must be caught within %d cuts (seed %d): %s", fault, FAULT_CUTS,
                seed, report).isNotEmpty();
        assertThat(report.cuts()).as("caught by a power cut, not by a harness that could not even start: %s", report)
                .isPositive();
    }
}
