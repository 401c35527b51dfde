package io.mtagent.agent.server;

import io.mtagent.agent.disk.CacheBudget;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.security.AuthFailureLimiter;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.agent.security.PeerStats;
import io.mtagent.agent.security.RateLimitedLog;
import io.mtagent.protocol.Protocol;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every data-server session shares: identity, passphrase verifier, rate limiter, disks, limits, stats.
 * Thread-safe: immutable apart from the session set and the id counter, which are concurrent.
 */
final class DataServerContext {
    private final String agentName;
    private final byte[] fingerprint;
    private final PassphraseStore passphrase;
    private final AuthFailureLimiter limiter;
    private final DiskRegistry disks;
    private final CacheBudget cacheBudget;
    private final int maxWriteBytes;
    private final int creditWindow;
    private final long handshakeTimeoutMillis;
    private final DataServerStats stats;
    private final AtomicLong sessionIds = new AtomicLong();
    private final Set<ServerSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile long idleTimeoutMillis = Protocol.IDLE_TIMEOUT_SECONDS * 1000L;
    private final HandshakeAdmission admission = new HandshakeAdmission(HandshakeAdmission.DEFAULT_PER_ADDRESS,
            HandshakeAdmission.DEFAULT_TOTAL);
    private final PeerStats peerStats = new PeerStats();
    private final RateLimitedLog peerLog = new RateLimitedLog(System.getLogger(ServerSession.class.getName()));
    /** Hash workers for CHECKSUM_REQUEST (protocol v2); replaced once at start-up with the configured one. */
    private volatile ChecksumService checksums = new ChecksumService(2, 0);

    DataServerContext(String agentName, byte[] fingerprint, PassphraseStore passphrase, AuthFailureLimiter limiter,
                      DiskRegistry disks, CacheBudget cacheBudget, int maxWriteBytes, int creditWindow,
                      long handshakeTimeoutMillis, DataServerStats stats) {
        this.agentName = agentName;
        this.fingerprint = fingerprint.clone();
        this.passphrase = passphrase;
        this.limiter = limiter;
        this.disks = disks;
        this.cacheBudget = cacheBudget;
        this.maxWriteBytes = maxWriteBytes;
        this.creditWindow = creditWindow;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.stats = stats;
    }

    String agentName() { return agentName; }
    /** SHA-256 of our certificate (32 zero bytes when running plaintext for tests). */
    byte[] fingerprint() { return fingerprint; }
    PassphraseStore passphrase() { return passphrase; }
    AuthFailureLimiter limiter() { return limiter; }
    HandshakeAdmission admission() { return admission; }
    PeerStats peerStats() { return peerStats; }
    /** Throttled warnings about peers (refused connections, timed-out handshakes). */
    RateLimitedLog peerLog() { return peerLog; }
    DiskRegistry disks() { return disks; }
    CacheBudget cacheBudget() { return cacheBudget; }
    int maxWriteBytes() { return maxWriteBytes; }
    int maxFrameLength() { return Protocol.maxFrameLengthFor(maxWriteBytes); }
    int creditWindow() { return creditWindow; }
    long handshakeTimeoutMillis() { return handshakeTimeoutMillis; }
    /** An authenticated session that received nothing for this long is closed (SPEC.md §5.14). */
    long idleTimeoutMillis() { return idleTimeoutMillis; }
    void idleTimeoutMillis(long millis) { idleTimeoutMillis = millis; }
    DataServerStats stats() { return stats; }
    long nextSessionId() { return sessionIds.incrementAndGet(); }
    ChecksumService checksums() { return checksums; }
    void checksums(ChecksumService service) {
        ChecksumService old = checksums;
        checksums = service;
        old.close();
    }
    void register(ServerSession s) { sessions.add(s); }
    void unregister(ServerSession s) { sessions.remove(s); }
    Set<ServerSession> sessions() { return sessions; }
}
