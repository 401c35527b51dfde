package io.mtagent.agent.resync;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress of one disk's resync and of the hashing done for it, for {@code /status} and {@code mtagent status}:
 * bytes hashed, chunks hashed, resync writes received (the chunks that differed), the range and how far the
 * process server got, a rate and an ETA. Thread-safe (atomics and volatiles; a snapshot may mix instants).
 */
public final class ResyncStats {
    private final AtomicLong bytesHashed = new AtomicLong();
    private final AtomicLong chunksHashed = new AtomicLong();
    private final AtomicLong resyncWrites = new AtomicLong();
    private final AtomicLong resyncBytes = new AtomicLong();
    // Since the agent started (never reset; the Prometheus counters): the fields above are per resync.
    private final AtomicLong totalHashed = new AtomicLong();
    private final AtomicLong totalResent = new AtomicLong();
    private volatile boolean active;
    private volatile long offset;
    private volatile long length;
    private volatile long doneSent;
    private volatile long doneDurable;
    private volatile long startNanos;
    private volatile long startDone;

    /** A resync began (or resumed after a restart at {@code done}). */
    public void started(long offset, long length, long done) {
        this.offset = offset;
        this.length = length;
        this.doneSent = done;
        this.doneDurable = done;
        this.startDone = done;
        this.startNanos = System.nanoTime();
        bytesHashed.set(0);
        chunksHashed.set(0);
        resyncWrites.set(0);
        resyncBytes.set(0);
        active = true;
    }

    public void ended() {
        active = false;
    }

    public void hashed(long bytes, int chunks) {
        bytesHashed.addAndGet(bytes);
        chunksHashed.addAndGet(chunks);
        totalHashed.addAndGet(bytes);
    }

    public void resyncWrite(long bytes) {
        resyncWrites.incrementAndGet();
        resyncBytes.addAndGet(bytes);
        totalResent.addAndGet(bytes);
    }

    public void progressSent(long done) {
        doneSent = Math.max(doneSent, done);
    }

    public void progressDurable(long done) {
        doneDurable = Math.max(doneDurable, done);
    }

    public long bytesHashed() { return bytesHashed.get(); }
    public long resyncBytes() { return resyncBytes.get(); }
    public long resyncWrites() { return resyncWrites.get(); }
    public boolean active() { return active; }
    /** Bytes of the target hashed since the agent started (checksum requests: resyncs and online verifies). */
    public long totalBytesHashed() { return totalHashed.get(); }
    /** Resync write bytes received since the agent started (the chunks that differed). */
    public long totalBytesResent() { return totalResent.get(); }

    /** Bytes of the current resync's range the process server has not reported done; 0 when none runs. */
    public long remainingBytes() {
        return active ? Math.max(0, offset + length - doneSent) : 0;
    }

    /** The status document's {@code resync} object, or null when no resync is in progress. */
    public Map<String, Object> status() {
        if (!active) {
            return hashingOnly();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        long done = doneSent;
        double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
        double rate = (done - startDone) / seconds;
        long left = Math.max(0, offset + length - done);
        m.put("rangeOffset", offset);
        m.put("rangeBytes", length);
        m.put("doneOffset", done);
        m.put("resumeOffset", doneDurable);
        m.put("percent", length == 0 ? 100.0 : Math.round(1000.0 * (done - offset) / length) / 10.0);
        m.put("bytesHashed", bytesHashed.get());
        m.put("chunksHashed", chunksHashed.get());
        m.put("chunksDiffering", resyncWrites.get());
        m.put("bytesResent", resyncBytes.get());
        m.put("bytesPerSecond", (long) rate);
        m.put("etaSeconds", rate <= 0 ? null : (long) Math.ceil(left / rate));
        return m;
    }

    private Map<String, Object> hashingOnly() {
        if (bytesHashed.get() == 0) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bytesHashed", bytesHashed.get());
        m.put("chunksHashed", chunksHashed.get());
        return m;
    }
}
