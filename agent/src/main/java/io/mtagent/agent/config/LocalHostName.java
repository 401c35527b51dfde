package io.mtagent.agent.config;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The default of {@code agent.name}. Reads the kernel's host name (or Windows' {@code COMPUTERNAME}) before asking
 * {@link InetAddress#getLocalHost()}, because the latter may wait for a DNS timeout on a badly configured machine
 * and the agent should start without the network.
 */
final class LocalHostName {
    private LocalHostName() {
    }

    static String get() {
        String windows = System.getenv("COMPUTERNAME");
        if (windows != null && !windows.isBlank()) {
            return windows.trim();
        }
        try {
            String kernel = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!kernel.isEmpty()) {
                return kernel;
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc not mounted: fall through.
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
