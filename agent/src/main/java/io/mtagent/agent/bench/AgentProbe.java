package io.mtagent.agent.bench;

import java.util.Map;

/**
 * What the load generator can learn from the agent besides acks: how far each disk has applied, and whether
 * the agent keeps a retention journal. Implemented over the control API's {@code /status} by the CLI.
 */
public interface AgentProbe {
    /** The applied sequence number of each disk by id (disks the agent does not report are absent). */
    Map<String, Long> appliedSeqs() throws Exception;

    /** True when the agent keeps a retention journal (before-images), false when not. */
    boolean retention() throws Exception;
}
