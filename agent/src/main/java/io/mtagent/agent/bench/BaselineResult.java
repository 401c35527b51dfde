package io.mtagent.agent.bench;

/**
 * What a baseline measured.
 *
 * @param tool "fio &lt;version&gt;" or "java-writer" (the plain Java fallback)
 * @param mbPerSecond write bytes of the pattern completed per second, 10^6 bytes per MB
 * @param seconds wall time
 * @param bytes write bytes completed (every stage done)
 * @param pattern what was done (see {@link BaselineSpec#describe()})
 * @param cpuSeconds CPU time (user + system) the baseline used, NaN when unknown: next to the agent's and the load
 *                   generator's, it shows whether the machine's cores or its disk set the limit
 */
public record BaselineResult(String tool, double mbPerSecond, double seconds, long bytes, String pattern,
                             double cpuSeconds) {
}
