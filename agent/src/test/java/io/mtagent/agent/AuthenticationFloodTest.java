package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Passphrase guessing with 200 parallel connections through the real TLS data server, from one address and from
 * 100 rotating addresses (127.0.0.x): the agent checks no more proofs than its lockout allows (SPEC.md §4.5), and a
 * process server that has logged in before still gets in during the flood. The figures (proofs checked per second)
 * are printed for the README; the bounds come from the designed policy, not from a measurement.
 */
class AuthenticationFloodTest {
    private static final Duration FLOOD = Duration.ofSeconds(6);
    private static final int CONNECTIONS = 200;

    @TempDir
    Path dir;
    Agent agent;

    @BeforeEach
    void start() throws Exception {
        agent = TestAgents.start(TestAgents.settings(dir, 1, 1 << 20));
    }

    @AfterEach
    void stop() {
        agent.close();
    }

    @Test
    void guessingFromOneAddressGetsOnlyTheFreeProofsAndTheLockoutsChecked() throws Exception {
        HandshakeFlood flood = new HandshakeFlood();
        flood.run(agent.dataAddress().getPort(), CONNECTIONS, 1, FLOOD, Protocol.MAGIC);
        long checked = flood.checked.sum();
        System.out.printf("one address, %d connections, %d s: %s; proofs checked per second %.2f%n", CONNECTIONS,
                FLOOD.toSeconds(), flood, checked / (double) FLOOD.toSeconds());
        // 3 free, the 4th starts a 1 s lockout, then 2 s, 4 s...: at most one more per second of flood.
        assertThat(checked).as(flood.toString())
                .isLessThanOrEqualTo(AuthFailureLimiter.FREE_FAILURES + 1 + FLOOD.toSeconds());
        assertThat(agent.dataServer().peerStats().proofsChecked.sum()).as("the agent's own count").isEqualTo(checked);
        assertThat(flood.attempts.sum()).as("the flood really ran").isGreaterThan(CONNECTIONS);
    }

    @Test
    void guessingFromManyAddressesIsLimitedGloballyWhileAKnownProcessServerGetsIn() throws Exception {
        ReplicationClient.connect(TestAgents.client(agent).build()).close(); // 127.0.0.1 is known from now on
        HandshakeFlood flood = new HandshakeFlood();
        Thread attack = new Thread(() -> {
            try {
                flood.run(agent.dataAddress().getPort(), CONNECTIONS, 100, FLOOD, Protocol.MAGIC);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        attack.start();
        Thread.sleep(FLOOD.toMillis() / 2); // the middle of the flood, whatever the machine's speed
        long begin = System.nanoTime();
        ReplicationClient.connect(TestAgents.client(agent).build()).close();
        long loginMillis = (System.nanoTime() - begin) / 1_000_000;
        attack.join();
        long checked = flood.checked.sum();
        System.out.printf("100 addresses, %d connections, %d s: %s; proofs checked per second %.2f; a known process"
                + " server logged in during it in %d ms%n", CONNECTIONS, FLOOD.toSeconds(), flood,
                checked / (double) FLOOD.toSeconds(), loginMillis);
        assertThat(checked).as(flood.toString()).isLessThanOrEqualTo(AuthFailureLimiter.GLOBAL_BURST
                + FLOOD.toSeconds() * 1000 / AuthFailureLimiter.GLOBAL_REFILL_MILLIS + 1);
        assertThat(flood.attempts.sum()).as("the flood really ran").isGreaterThan(CONNECTIONS);
    }
}
