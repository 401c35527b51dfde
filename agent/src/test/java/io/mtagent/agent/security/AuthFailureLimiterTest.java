package io.mtagent.agent.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AuthFailureLimiterTest {
    /** Starts near the wrap-around point on purpose: nanoTime values may be negative or overflow. */
    private final AtomicLong now = new AtomicLong(Long.MAX_VALUE - Duration.ofSeconds(30).toNanos());
    private final AuthFailureLimiter limiter = new AuthFailureLimiter(now::get);
    private final InetAddress attacker = address("192.0.2.7");
    private final InetAddress bystander = address("192.0.2.8");

    @Test
    void threeFailuresAreFreeThenLockoutsDoubleUpToSixtySeconds() {
        for (int i = 0; i < AuthFailureLimiter.FREE_FAILURES; i++) {
            limiter.recordFailure(attacker);
            assertThat(limiter.allow(attacker)).isTrue();
            assertThat(limiter.lockoutRemaining(attacker)).isZero();
        }
        long[] expectedSeconds = {1, 2, 4, 8, 16, 32, 60, 60, 60};
        for (long seconds : expectedSeconds) {
            limiter.recordFailure(attacker);
            assertThat(limiter.lockoutRemaining(attacker)).isEqualTo(Duration.ofSeconds(seconds));
            assertThat(limiter.allow(attacker)).isFalse();
            assertThat(limiter.allow(bystander)).isTrue();
            advance(Duration.ofSeconds(seconds).minusNanos(1));
            assertThat(limiter.allow(attacker)).isFalse();
            advance(Duration.ofNanos(1));
            assertThat(limiter.allow(attacker)).isTrue();
        }
        assertThat(limiter.failures()).isEqualTo(AuthFailureLimiter.FREE_FAILURES + expectedSeconds.length);
    }

    @Test
    void successResetsTheAddress() {
        for (int i = 0; i < 5; i++) {
            limiter.recordFailure(attacker);
        }
        assertThat(limiter.allow(attacker)).isFalse();
        advance(Duration.ofSeconds(2));
        limiter.recordSuccess(attacker);

        assertThat(limiter.trackedAddresses()).isZero();
        limiter.recordFailure(attacker);
        limiter.recordFailure(attacker);
        limiter.recordFailure(attacker);
        assertThat(limiter.allow(attacker)).isTrue(); // the free failures are free again
        assertThat(limiter.failures()).isEqualTo(8); // the total counter is not reset
    }

    @Test
    void idleAddressesExpireAfterTenMinutes() {
        for (int i = 0; i < 10; i++) {
            limiter.recordFailure(attacker);
        }
        advance(Duration.ofMinutes(10).minusSeconds(1));
        assertThat(limiter.trackedAddresses()).isEqualTo(1);
        advance(Duration.ofSeconds(1));

        assertThat(limiter.allow(attacker)).isTrue();
        assertThat(limiter.trackedAddresses()).isZero();
        limiter.recordFailure(attacker);
        assertThat(limiter.allow(attacker)).isTrue(); // a fresh count
    }

    @Test
    void scanningManyAddressesStaysBoundedAndEvictsTheOldest() {
        InetAddress first = address("10.0.0.0");
        for (int i = 0; i < 20_000; i++) {
            limiter.recordFailure(address("10.0." + (i >> 8) + "." + (i & 0xff)));
        }

        assertThat(limiter.trackedAddresses()).isEqualTo(AuthFailureLimiter.DEFAULT_MAX_ENTRIES);
        assertThat(limiter.failures()).isEqualTo(20_000);
        // The oldest were dropped: the first address starts from a clean count.
        for (int i = 0; i < AuthFailureLimiter.FREE_FAILURES; i++) {
            limiter.recordFailure(first);
        }
        assertThat(limiter.allow(first)).isTrue();
    }

    @Test
    void ipv6IsCountedPerSlash64() {
        for (int i = 1; i <= 4; i++) {
            limiter.recordFailure(address("2001:db8:1:2::" + i));
        }
        assertThat(limiter.allow(address("2001:db8:1:2::ffff"))).isFalse();
        assertThat(limiter.allow(address("2001:db8:1:3::1"))).isTrue();
    }

    @Test
    void proofsAreChargedBeforeTheyAreCheckedSoABurstGetsOnlyTheFreeOnes() {
        int allowed = 0;
        for (int i = 0; i < 800; i++) { // 800 proofs arriving together, none checked yet
            if (limiter.tryBeginProof(attacker) == AuthFailureLimiter.Verdict.ALLOWED) {
                allowed++;
            }
        }
        assertThat(allowed).as("free failures plus the one that starts the first lockout")
                .isEqualTo(AuthFailureLimiter.FREE_FAILURES + 1);
        assertThat(limiter.tryBeginProof(attacker)).isEqualTo(AuthFailureLimiter.Verdict.ADDRESS_LOCKED);
        assertThat(limiter.refusedUnchecked()).isEqualTo(800 - allowed + 1);
        advance(Duration.ofMillis(1001));
        assertThat(limiter.tryBeginProof(attacker)).isEqualTo(AuthFailureLimiter.Verdict.ALLOWED);
        assertThat(limiter.tryBeginProof(attacker)).isEqualTo(AuthFailureLimiter.Verdict.ADDRESS_LOCKED);
    }

    @Test
    void aSuccessfulProofUndoesItsChargeAndIsNotGloballyLimitedLater() {
        assertThat(limiter.tryBeginProof(bystander)).isEqualTo(AuthFailureLimiter.Verdict.ALLOWED);
        limiter.recordSuccess(bystander);
        // Many addresses guessing drain the global bucket...
        int allowed = 0;
        for (int i = 0; i < 1000; i++) {
            if (limiter.tryBeginProof(address("198.51.100." + (i % 250))) == AuthFailureLimiter.Verdict.ALLOWED) {
                allowed++;
            }
        }
        assertThat(allowed).as("the global burst, less the bystander's first proof").isEqualTo(
                AuthFailureLimiter.GLOBAL_BURST - 1);
        assertThat(limiter.tryBeginProof(address("203.0.113.1"))).isEqualTo(AuthFailureLimiter.Verdict.GLOBALLY_LIMITED);
        // ...but the process server that logged in before keeps its own allowance.
        assertThat(limiter.tryBeginProof(bystander)).isEqualTo(AuthFailureLimiter.Verdict.ALLOWED);
        // One proof per refill interval afterwards.
        advance(Duration.ofMillis(AuthFailureLimiter.GLOBAL_REFILL_MILLIS));
        assertThat(limiter.tryBeginProof(address("203.0.113.2"))).isEqualTo(AuthFailureLimiter.Verdict.ALLOWED);
        assertThat(limiter.tryBeginProof(address("203.0.113.3"))).isEqualTo(AuthFailureLimiter.Verdict.GLOBALLY_LIMITED);
    }

    private void advance(Duration duration) {
        now.addAndGet(duration.toNanos());
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // literals only: no lookup
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
