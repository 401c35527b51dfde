package io.mtagent.agent.security;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Slows down passphrase guessing on 9443 (SPEC.md §4.5): every proof <em>is charged before it is checked</em>, per
 * source address and globally, so parallel connections cannot get more proofs checked than the lockout allows.
 *
 * <p>Policy:
 * <ol>
 *   <li>{@link #tryBeginProof} is asked when an AUTH_PROOF arrives, before any cryptography. It counts the proof as
 *       a failure of the address at once; {@link #recordSuccess} undoes that for a proof that verifies. So 800
 *       proofs arriving together on 800 connections are charged one by one, and all but the allowed ones are
 *       refused unchecked.</li>
 *   <li>Per address: the first {@value #FREE_FAILURES} failures cost nothing (a mistyped passphrase, a process
 *       server restarting with an old configuration). Each further one locks the address for 1 s, then 2 s, 4 s,
 *       ... up to 60 s; while locked, proofs and HELLOs of the address are refused.</li>
 *   <li>Globally: proofs from addresses that have not authenticated successfully in the last
 *       {@value #TRUSTED_HOURS} h draw on one bucket of {@value #GLOBAL_BURST} proofs, refilled by one every
 *       {@value #GLOBAL_REFILL_MILLIS} ms. Rotating through many addresses therefore gets no more than that, while a
 *       process server that has logged in before keeps its own per-address allowance during such an attack.</li>
 *   <li>A successful proof forgets the address's failures. An address without a failure for 10 minutes is
 *       forgotten too.</li>
 *   <li>IPv6 sources are counted per /64: a single host usually owns a whole /64 and could otherwise rotate
 *       through it to get three free guesses per address.</li>
 *   <li>At most {@value #DEFAULT_MAX_ENTRIES} addresses are tracked (failures and trusted ones each); the oldest is
 *       dropped first, so an address scan cannot grow memory without bound.</li>
 * </ol>
 * Time comes from an injected nanosecond source ({@link System#nanoTime} in production), so tests need no sleeps.
 *
 * <p>Thread-safe: every method synchronizes on the limiter, which keeps charge-then-check atomic across the event
 * loops. Proofs are rare compared with data frames, so the lock costs nothing measurable.
 */
public final class AuthFailureLimiter {
    public static final int FREE_FAILURES = 3;
    public static final int DEFAULT_MAX_ENTRIES = 10_000;
    public static final int GLOBAL_BURST = 10;
    public static final long GLOBAL_REFILL_MILLIS = 1_000;
    public static final int TRUSTED_HOURS = 24;
    static final long FIRST_LOCKOUT_NANOS = Duration.ofSeconds(1).toNanos();
    static final long MAX_LOCKOUT_NANOS = Duration.ofSeconds(60).toNanos();
    static final long IDLE_EXPIRY_NANOS = Duration.ofMinutes(10).toNanos();
    private static final long TRUSTED_NANOS = Duration.ofHours(TRUSTED_HOURS).toNanos();
    private static final long GLOBAL_REFILL_NANOS = Duration.ofMillis(GLOBAL_REFILL_MILLIS).toNanos();

    /** Why {@link #tryBeginProof} refused. */
    public enum Verdict { ALLOWED, ADDRESS_LOCKED, GLOBALLY_LIMITED }

    private final LongSupplier nanoTime;
    private final int maxEntries;
    /** Insertion order = order of the last failure, because a failure re-inserts its entry; the head is oldest. */
    private final LinkedHashMap<InetAddress, Entry> entries = new LinkedHashMap<>();
    /** Addresses that authenticated, by the time of their last success; access order, the head is oldest. */
    private final LinkedHashMap<InetAddress, Long> trusted = new LinkedHashMap<>(16, 0.75f, true);
    private final RateLimitedLog log = new RateLimitedLog(System.getLogger(AuthFailureLimiter.class.getName()));
    private long failures;
    private long refusedUnchecked;
    private double globalTokens = GLOBAL_BURST;
    private long globalRefilledAt;

    /** A limiter on {@link System#nanoTime}. */
    public AuthFailureLimiter() {
        this(System::nanoTime);
    }

    /** A limiter on the given clock, tracking at most {@value #DEFAULT_MAX_ENTRIES} addresses. */
    public AuthFailureLimiter(LongSupplier nanoTime) {
        this(nanoTime, DEFAULT_MAX_ENTRIES);
    }

    /**
     * @param nanoTime   monotonic nanoseconds, like {@link System#nanoTime}
     * @param maxEntries how many source addresses are tracked at most
     */
    public AuthFailureLimiter(LongSupplier nanoTime, int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
        }
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.maxEntries = maxEntries;
        this.globalRefilledAt = nanoTime.getAsLong();
    }

    /** Whether {@code address} is not locked out now (the cheap early answer to a HELLO). */
    public synchronized boolean allow(InetAddress address) {
        return remainingNanos(address) == 0;
    }

    /**
     * Charges one proof of {@code address} before it is checked: counts it as a failure (undone by
     * {@link #recordSuccess}) and takes a token of the global bucket unless the address is trusted.
     *
     * @return {@link Verdict#ALLOWED} when the proof may be checked; otherwise why not (nothing is charged then)
     */
    public synchronized Verdict tryBeginProof(InetAddress address) {
        long now = nanoTime.getAsLong();
        if (remainingNanos(address) > 0) {
            refused(address, "locked out");
            return Verdict.ADDRESS_LOCKED;
        }
        InetAddress key = key(address);
        if (!isTrusted(key, now)) {
            refill(now);
            if (globalTokens < 1) {
                refused(address, "global limit");
                return Verdict.GLOBALLY_LIMITED;
            }
            globalTokens -= 1;
        }
        charge(key, address, now);
        return Verdict.ALLOWED;
    }

    /**
     * A proof that failed after {@link #tryBeginProof}: already counted there; this only keeps the total and logs
     * (at most one line per 10 s, with the count of the rest).
     */
    public synchronized void proofFailed(InetAddress address) {
        failures++;
        log.warn("auth-failed", "failed passphrase proofs (wrong passphrase, or a relay with its own certificate),"
                + " latest from " + address.getHostAddress());
    }

    /**
     * Counts a failed proof from {@code address} that was not charged by {@link #tryBeginProof} (tests and callers
     * that check first, charge later).
     */
    public synchronized void recordFailure(InetAddress address) {
        charge(key(address), address, nanoTime.getAsLong());
        failures++;
    }

    /** Forgets {@code address}'s failures and trusts it for {@value #TRUSTED_HOURS} h: it knows the passphrase. */
    public synchronized void recordSuccess(InetAddress address) {
        InetAddress key = key(address);
        entries.remove(key);
        trusted.put(key, nanoTime.getAsLong());
        if (trusted.size() > maxEntries) {
            Iterator<InetAddress> oldest = trusted.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    /** Whether {@code address} completed a handshake in the last {@value #TRUSTED_HOURS} h. */
    public synchronized boolean isTrusted(InetAddress address) {
        return isTrusted(key(address), nanoTime.getAsLong());
    }

    /** Failed proofs since start, from all addresses (a metric). */
    public synchronized long failures() {
        return failures;
    }

    /** Proofs refused without being checked (address locked, or the global limit), since start. */
    public synchronized long refusedUnchecked() {
        return refusedUnchecked;
    }

    /** How long {@code address} stays locked out; {@link Duration#ZERO} if it is not. */
    public synchronized Duration lockoutRemaining(InetAddress address) {
        return Duration.ofNanos(remainingNanos(address));
    }

    /** How many addresses are tracked now (bounded by {@code maxEntries}). */
    public synchronized int trackedAddresses() {
        return entries.size();
    }

    private void charge(InetAddress key, InetAddress address, long now) {
        expireIdle(now);
        Entry entry = entries.remove(key); // re-inserted below, which moves it to the tail (newest)
        if (entry == null) {
            entry = new Entry();
        }
        entry.failures++;
        entry.lastFailure = now;
        if (entry.failures > FREE_FAILURES) {
            int doublings = Math.min(entry.failures - FREE_FAILURES - 1, 6); // 2^6 s > 60 s: no overflow past here
            entry.lockedUntil = now + Math.min(FIRST_LOCKOUT_NANOS << doublings, MAX_LOCKOUT_NANOS);
        }
        entries.put(key, entry);
        if (entries.size() > maxEntries) {
            Iterator<InetAddress> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    private void refused(InetAddress address, String why) {
        refusedUnchecked++;
        log.warn("auth-refused", "proofs refused unchecked (" + why + "), latest from " + address.getHostAddress());
    }

    private boolean isTrusted(InetAddress key, long now) {
        Long since = trusted.get(key);
        if (since == null) {
            return false;
        }
        if (now - since > TRUSTED_NANOS) {
            trusted.remove(key);
            return false;
        }
        return true;
    }

    private void refill(long now) {
        long elapsed = now - globalRefilledAt;
        if (elapsed > 0) {
            globalTokens = Math.min(GLOBAL_BURST, globalTokens + (double) elapsed / GLOBAL_REFILL_NANOS);
            globalRefilledAt = now;
        }
    }

    private long remainingNanos(InetAddress address) {
        long now = nanoTime.getAsLong();
        expireIdle(now);
        Entry entry = entries.get(key(address));
        if (entry == null) {
            return 0;
        }
        long remaining = entry.lockedUntil - now; // differences, not comparisons: nanoTime may wrap
        return remaining > 0 && entry.failures > FREE_FAILURES ? remaining : 0;
    }

    /** Drops entries idle for too long; they sit at the head, so this is amortised O(1). */
    private void expireIdle(long now) {
        Iterator<Entry> it = entries.values().iterator();
        while (it.hasNext()) {
            if (now - it.next().lastFailure < IDLE_EXPIRY_NANOS) {
                return;
            }
            it.remove();
        }
    }

    /** The address itself for IPv4, its /64 prefix for IPv6. */
    private static InetAddress key(InetAddress address) {
        Objects.requireNonNull(address, "address");
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        byte[] prefix = Arrays.copyOf(address.getAddress(), 16);
        Arrays.fill(prefix, 8, 16, (byte) 0);
        try {
            return InetAddress.getByAddress(prefix); // no lookup: a literal byte address
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length, which cannot happen
        }
    }

    private static final class Entry {
        int failures;
        long lastFailure;
        long lockedUntil;
    }
}
