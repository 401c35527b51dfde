package io.mtagent.agent.bench;

import java.time.Duration;

/**
 * The knobs of one load run.
 *
 * @param profile the load shape
 * @param connections TLS connections to spread the disks over (round robin)
 * @param window the most writes and tags one disk may have unacknowledged (on top of the agent's credit)
 * @param compressibility 0..1: the share of each 4 KiB block that is zeros (see {@link PayloadPool})
 * @param duration how long to send
 * @param rateMbPerSecond total send rate limit in MB/s over all disks, 0 for none
 * @param tagSeconds seconds between consistency tags per disk, 0 for none
 * @param epoch the stream epoch to open disks under
 * @param seed workload seed
 */
public record LoadOptions(BenchProfile profile, int connections, int window, double compressibility,
                          Duration duration, double rateMbPerSecond, int tagSeconds, long epoch, long seed) {
    public LoadOptions {
        if (connections < 1 || window < 1 || duration.isNegative() || rateMbPerSecond < 0 || tagSeconds < 0) {
            throw new IllegalArgumentException("connections and window must be at least 1, duration, rate and tag"
                    + " interval not negative");
        }
    }
}
