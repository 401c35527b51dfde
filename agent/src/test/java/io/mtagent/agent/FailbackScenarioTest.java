package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The failback lifecycle end to end ({@link FailbackScenario}): in every CI run two cycles on 4 MiB disks; the
 * soak ({@code -P failback-soak}, README "Longer runs") runs {@code mtagent.failback.soak.cycles} cycles with a
 * kill -9 of a random agent at random steps (replay one with {@code -Dmtagent.failback.seed=…}).
 */
class FailbackScenarioTest {
    @TempDir
    Path dir;

    @Test
    void protectTestFailoverFailOverReprotectFailBackTwice() throws Exception {
        FailbackScenario s = new FailbackScenario(dir, 20, step -> { });
        try {
            s.run(2);
        } catch (AssertionError | Exception e) {
            throw new AssertionError(e.getMessage() + "\n" + s.tails(), e);
        } finally {
            s.close();
        }
        s.log.forEach(System.out::println);
        s.reprotects.forEach(r -> System.out.println("reprotect " + r));
        assertThat(s.checks()).as("steps times sites").isEqualTo(2 * (1 + 2 * 5));
        assertThat(s.reprotects).hasSize(2 * (1 + 2 * 2));
    }

    @Test
    @EnabledIfSystemProperty(named = "mtagent.failback.soak.cycles", matches = "[0-9]+")
    void soakWithKillNineOfARandomAgentAtRandomSteps() throws Exception {
        int cycles = Integer.getInteger("mtagent.failback.soak.cycles");
        long seed = Long.getLong("mtagent.failback.seed", System.nanoTime());
        System.out.println("failback soak: " + cycles + " cycles, seed " + seed
                + " (replay: -Dmtagent.failback.seed=" + seed + ")");
        SplittableRandom faults = new SplittableRandom(seed);
        int[] kills = {0};
        FailbackScenario[] holder = new FailbackScenario[1];
        FailbackScenario s = new FailbackScenario(dir, seed, step -> {
            if (faults.nextInt(3) == 0) {
                Site victim = holder[0].site(faults.nextBoolean() ? "A" : "B");
                try {
                    holder[0].kill(victim);
                } catch (Exception e) {
                    throw new AssertionError("kill -9 of site " + victim.name + " at '" + step + "': " + e, e);
                }
                kills[0]++;
                System.out.println("kill -9 of site " + victim.name + " at '" + step + "'");
            }
        });
        holder[0] = s;
        long t0 = System.nanoTime();
        try {
            s.run(cycles);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("seed " + seed + ": " + e.getMessage() + "\n" + s.tails(), e);
        } finally {
            s.close();
        }
        System.out.printf("failback soak: %d cycles, %d kills, %d checks, %.1f s, seed %d%n", cycles, kills[0],
                s.checks(), (System.nanoTime() - t0) / 1e9, seed);
        s.reprotects.forEach(r -> System.out.println("reprotect " + r));
        assertThat(kills[0]).as("kills").isPositive();
    }
}
