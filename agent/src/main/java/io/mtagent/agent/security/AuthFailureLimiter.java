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
 * Slows down passphrase guessing on 9443: counts failed handshake proofs per source address and locks an address
 * out for a while once it keeps failing.
 *
 * <p>Policy:
 * <ol>
 *   <li>The first {@value #FREE_FAILURES} failures of an address cost nothing (a mistyped passphrase, a process
 *       server restarting with an old configuration).</li>
 *   <li>Each further failure locks the address out for 1 s, then 2 s, 4 s, ... up to 60 s; {@link #allow} answers
 *       {@code false} until the lockout ends. At 60 s per guess an online attack gets nowhere with a
 *       12-character passphrase, and a legitimate server recovers within a minute once fixed.</li>
 *   <li>A successful proof forgets the address. An address without a failure for 10 minutes is forgotten too.</li>
 *   <li>IPv6 sources are counted per /64: a single host usually owns a whole /64 and could otherwise rotate
 *       through it to get three free guesses per address.</li>
 *   <li>At most {@value #DEFAULT_MAX_ENTRIES} addresses are tracked; the one whose last failure is oldest is
 *       dropped first, so an address scan cannot grow memory without bound.</li>
 * </ol>
 * Time comes from an injected nanosecond source ({@link System#nanoTime} in production), so tests need no sleeps.
 *
 * <p>Thread-safe: every method synchronizes on the limiter. Handshakes are rare compared with data frames, so one
 * lock costs nothing measurable and keeps the count-then-lock decision atomic.
 */
public final class AuthFailureLimiter {
    public static final int FREE_FAILURES = 3;
    public static final int DEFAULT_MAX_ENTRIES = 10_000;
    static final long FIRST_LOCKOUT_NANOS = Duration.ofSeconds(1).toNanos();
    static final long MAX_LOCKOUT_NANOS = Duration.ofSeconds(60).toNanos();
    static final long IDLE_EXPIRY_NANOS = Duration.ofMinutes(10).toNanos();

    private static final System.Logger LOG = System.getLogger(AuthFailureLimiter.class.getName());

    private final LongSupplier nanoTime;
    private final int maxEntries;
    /** Insertion order = order of the last failure, because a failure re-inserts its entry; the head is oldest. */
    private final LinkedHashMap<InetAddress, Entry> entries = new LinkedHashMap<>();
    private long failures;

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
    }

    /** Whether a handshake from {@code address} may be checked now; {@code false} while it is locked out. */
    public synchronized boolean allow(InetAddress address) {
        return remainingNanos(address) == 0;
    }

    /** Counts a failed proof from {@code address}, locking it out from the fourth failure on. */
    public synchronized void recordFailure(InetAddress address) {
        long now = nanoTime.getAsLong();
        expireIdle(now);
        InetAddress key = key(address);
        Entry entry = entries.remove(key); // re-inserted below, which moves it to the tail (newest)
        if (entry == null) {
            entry = new Entry();
        }
        entry.failures++;
        entry.lastFailure = now;
        if (entry.failures > FREE_FAILURES) {
            int doublings = Math.min(entry.failures - FREE_FAILURES - 1, 6); // 2^6 s > 60 s: no overflow past here
            entry.lockedUntil = now + Math.min(FIRST_LOCKOUT_NANOS << doublings, MAX_LOCKOUT_NANOS);
            if (entry.failures == FREE_FAILURES + 1) {
                // Once per episode and address, so a scan cannot flood the log more than the map bound allows.
                LOG.log(System.Logger.Level.WARNING, "{0} failed passphrase proofs from {1}; slowing it down (lockouts"
                        + " from 1 s up to 60 s until it succeeds or stays quiet for 10 min)", entry.failures, address);
            }
        }
        entries.put(key, entry);
        if (entries.size() > maxEntries) {
            Iterator<InetAddress> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        failures++;
    }

    /** Forgets {@code address}: a correct proof shows it is a legitimate process server. */
    public synchronized void recordSuccess(InetAddress address) {
        entries.remove(key(address));
    }

    /** Failed proofs since start, from all addresses (a metric). */
    public synchronized long failures() {
        return failures;
    }

    /** How long {@code address} stays locked out; {@link Duration#ZERO} if it is not. */
    public synchronized Duration lockoutRemaining(InetAddress address) {
        return Duration.ofNanos(remainingNanos(address));
    }

    /** How many addresses are tracked now (bounded by {@code maxEntries}). */
    public synchronized int trackedAddresses() {
        return entries.size();
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
