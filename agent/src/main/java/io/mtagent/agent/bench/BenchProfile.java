package io.mtagent.agent.bench;

import java.util.Locale;

/**
 * The load shapes {@code mtagent bench} can drive. Each names the write size, where writes land, how many disks
 * it uses by default and how often it tags.
 */
public enum BenchProfile {
    /** 1 MiB sequential writes, wrapping at the end of the disk: a restore or a bulk copy. */
    SEQ_1M("seq-1m", 1 << 20, false, 1, 0, 0),
    /** 64 KiB writes at random 64 KiB-aligned offsets: the classic replication sizing pattern. */
    RAND_64K("rand-64k", 64 << 10, true, 4, 0, 0),
    /** 4 KiB writes at random 4 KiB-aligned offsets: a database; measures per-write cost and latency. */
    RAND_4K("rand-4k", 4 << 10, true, 1, 0, 0),
    /**
     * A realistic mix (4 KiB to 1 MiB, a third of the writes on a hot eighth of the disk, so writes overlap),
     * with a crash-consistent tag every 2 s and an app-consistent one every 10th tag.
     */
    MIXED("mixed", 0, true, 4, 2, 0),
    /** Many disks, each at a modest rate (default 0.25 MB/s each): fairness and per-disk overhead. */
    MANY_DISKS("many-disks", 64 << 10, true, 256, 0, 0.25);

    private final String label;
    private final int writeBytes;
    private final boolean random;
    private final int defaultDisks;
    private final int tagSeconds;
    private final double defaultMbPerDisk;

    BenchProfile(String label, int writeBytes, boolean random, int defaultDisks, int tagSeconds, double defaultMbPerDisk) {
        this.label = label;
        this.writeBytes = writeBytes;
        this.random = random;
        this.defaultDisks = defaultDisks;
        this.tagSeconds = tagSeconds;
        this.defaultMbPerDisk = defaultMbPerDisk;
    }

    public String label() { return label; }

    /** The fixed write size, or 0 for the size mix of {@link #MIXED}. */
    public int writeBytes() { return writeBytes; }

    public boolean random() { return random; }

    public int defaultDisks() { return defaultDisks; }

    /** Seconds between tags per disk by default; 0 means no tags. */
    public int tagSeconds() { return tagSeconds; }

    /** The default rate limit per disk in MB/s; 0 means unlimited. */
    public double defaultMbPerDisk() { return defaultMbPerDisk; }

    /** The largest write this profile issues. */
    public int maxWriteBytes() {
        return writeBytes == 0 ? WritePattern.MIXED_MAX : writeBytes;
    }

    public static BenchProfile parse(String text) {
        for (BenchProfile p : values()) {
            if (p.label.equals(text.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown profile '" + text + "' (known: seq-1m, rand-64k, rand-4k, mixed,"
                + " many-disks)");
    }

    @Override
    public String toString() {
        return label;
    }
}
