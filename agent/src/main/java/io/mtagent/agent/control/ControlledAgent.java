package io.mtagent.agent.control;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.disk.CacheBudget;
import io.mtagent.agent.disk.DiskRegistry;
import io.mtagent.agent.recovery.NbdServer;
import io.mtagent.agent.retention.RetentionEnforcer;
import io.mtagent.agent.security.AgentIdentity;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What the control plane (the HTTPS API, status, metrics, the heartbeat) needs of the running agent, and nothing
 * more: the agent implements it and hands itself to the control server, so {@code control} does not import the
 * agent's own package (which starts the control server). Thread-safe as the agent's accessors are.
 */
public interface ControlledAgent {
    AgentConfig config();

    AgentIdentity identity();

    DiskRegistry disks();

    CacheBudget cacheBudget();

    /** The retention policy in force, or null when no journal is kept. */
    RetentionEnforcer retention();

    /** The NBD server (null only while starting). */
    NbdServer nbdServer();

    /** Where the data server listens (the real port when 0 was configured). */
    InetSocketAddress dataAddress();

    /** Where the control server listens (the real port when 0 was configured). */
    InetSocketAddress controlAddress();

    Duration uptime();

    boolean dataServerListening();

    int dataSessions();

    /** The settings that may change at run time (health thresholds). */
    RuntimeSettings runtimeSettings();

    /** The heartbeat client, or null when no configuration server is configured. */
    HeartbeatClient heartbeat();
}
