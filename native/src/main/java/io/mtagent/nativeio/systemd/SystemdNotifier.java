package io.mtagent.nativeio.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * {@code sd_notify(3)} without libsystemd: one AF_UNIX datagram of newline-separated {@code KEY=value} lines to
 * the socket named by {@code $NOTIFY_SOCKET} (a leading '@' is the abstract namespace). When the variable is
 * unset (not started by systemd with {@code Type=notify}), or on a platform other than 64-bit Linux, every call
 * is a no-op, so callers never branch.
 *
 * <p>Sending never throws: a failed notification is logged once and reported as {@code false} (systemd then
 * times the service out, which is the right outcome for a daemon that cannot talk to its manager).
 *
 * <p>Thread-safe: sends are serialized on one socket (SOCK_CLOEXEC, so children never inherit it).
 */
public final class SystemdNotifier implements Closeable {
    private static final Logger LOG = Logger.getLogger(SystemdNotifier.class.getName());

    private final String socketName;
    private final UnixDatagram.Sockaddr address;
    private final Duration watchdog;
    private int fd = -1;
    private boolean warned;

    private SystemdNotifier(String socketName, UnixDatagram.Sockaddr address, Duration watchdog) {
        this.socketName = socketName;
        this.address = address;
        this.watchdog = watchdog;
    }

    /** From this process's environment ({@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC}, {@code WATCHDOG_PID}). */
    public static SystemdNotifier fromEnvironment() {
        return fromEnvironment(System.getenv(), ProcessHandle.current().pid());
    }

    /**
     * From an explicit environment (tests). The watchdog interval is honoured only when {@code WATCHDOG_PID} is
     * unset or equals {@code pid}, as {@code sd_watchdog_enabled(3)} does.
     */
    public static SystemdNotifier fromEnvironment(Map<String, String> env, long pid) {
        String name = env.get("NOTIFY_SOCKET");
        Duration watchdog = null;
        String usec = env.get("WATCHDOG_USEC");
        String wpid = env.get("WATCHDOG_PID");
        if (usec != null && (wpid == null || wpid.equals(Long.toString(pid)))) {
            try {
                long u = Long.parseLong(usec.trim());
                if (u > 0) {
                    watchdog = Duration.ofNanos(u * 1000);
                }
            } catch (NumberFormatException e) {
                LOG.warning("ignoring WATCHDOG_USEC='" + usec + "': not a number");
            }
        }
        if (name == null || name.isEmpty() || !UnixDatagram.AVAILABLE) {
            return new SystemdNotifier(null, null, watchdog);
        }
        try {
            return new SystemdNotifier(name, UnixDatagram.sockaddr(name), watchdog);
        } catch (IllegalArgumentException e) {
            // Never stop the agent over this: systemd will time the start out and say why in its journal.
            LOG.warning("NOTIFY_SOCKET ignored: " + e.getMessage());
            return new SystemdNotifier(null, null, watchdog);
        }
    }

    /** True when notifications go somewhere (NOTIFY_SOCKET set on Linux). */
    public boolean enabled() {
        return address != null;
    }

    /** The watchdog timeout systemd asked for ({@code WatchdogSec=}); ping at half of it. */
    public Optional<Duration> watchdogTimeout() {
        return Optional.ofNullable(watchdog);
    }

    /**
     * Sends {@code state} (e.g. {@code "READY=1"}, {@code "STATUS=recovering\nEXTEND_TIMEOUT_USEC=120000000"}).
     *
     * @return true if the datagram was sent, false if disabled or the send failed
     */
    public synchronized boolean notify(String state) {
        if (address == null) {
            return false;
        }
        byte[] payload = state.getBytes(StandardCharsets.UTF_8);
        try {
            if (fd < 0) {
                fd = UnixDatagram.LIBC.socket(UnixDatagram.AF_UNIX, UnixDatagram.SOCK_DGRAM | UnixDatagram.SOCK_CLOEXEC, 0);
            }
            UnixDatagram.LIBC.sendto(fd, payload, new NativeLong(payload.length), UnixDatagram.MSG_NOSIGNAL,
                    address.bytes(), address.length());
            return true;
        } catch (LastErrorException e) {
            if (!warned) {
                warned = true;
                LOG.warning("sd_notify to " + socketName + " failed (errno " + e.getErrorCode() + "): "
                        + e.getMessage() + "; systemd will not see this service's state");
            }
            return false;
        }
    }

    @Override
    public synchronized void close() {
        if (fd >= 0) {
            try {
                UnixDatagram.LIBC.close(fd);
            } catch (LastErrorException ignored) {
                // nothing to do: the fd is gone either way
            }
            fd = -1;
        }
    }
}
