package io.mtagent.nativeio.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemdNotifierTest {
    @TempDir
    Path dir;

    @Test
    void unsetSocketIsANoOp() {
        SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of(), 42);
        assertThat(n.enabled()).isFalse();
        assertThat(n.notify("READY=1")).isFalse();
        assertThat(n.watchdogTimeout()).isEmpty();
    }

    @Test
    void watchdogHonouredOnlyForOurPid() {
        assertThat(SystemdNotifier.fromEnvironment(Map.of("WATCHDOG_USEC", "30000000"), 7).watchdogTimeout())
                .contains(Duration.ofSeconds(30));
        assertThat(SystemdNotifier.fromEnvironment(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "7"), 7)
                .watchdogTimeout()).contains(Duration.ofSeconds(30));
        assertThat(SystemdNotifier.fromEnvironment(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "8"), 7)
                .watchdogTimeout()).isEmpty();
        assertThat(SystemdNotifier.fromEnvironment(Map.of("WATCHDOG_USEC", "x"), 7).watchdogTimeout()).isEmpty();
    }

    @Test
    void sockaddrLengths() {
        UnixDatagram.Sockaddr path = UnixDatagram.sockaddr("/run/systemd/notify");
        assertThat(path.length()).isEqualTo(2 + "/run/systemd/notify".length() + 1);
        UnixDatagram.Sockaddr abs = UnixDatagram.sockaddr("@abc");
        assertThat(abs.length()).isEqualTo(2 + 4);
        assertThat(abs.bytes()[2]).isZero();
        assertThat(abs.bytes()[3]).isEqualTo((byte) 'a');
        assertThatThrownBy(() -> UnixDatagram.sockaddr("/" + "x".repeat(200))).isInstanceOf(IllegalArgumentException.class);
        assertThat(SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "/" + "x".repeat(200)), 1).enabled())
                .as("an unusable NOTIFY_SOCKET disables notifications instead of failing the start").isFalse();
    }

    @Test
    void sendsToPathAndAbstractSocketsWithOurPid() {
        assumeTrue(NotifySocketReceiver.supported(), "AF_UNIX datagrams need 64-bit Linux");
        String abstractName = "@mtagent-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        for (String address : new String[] {dir.resolve("notify.sock").toString(), abstractName}) {
            try (NotifySocketReceiver rx = NotifySocketReceiver.bind(address);
                 SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", address), 1)) {
                assertThat(n.enabled()).isTrue();
                assertThat(n.notify("STATUS=recovering disk a\nEXTEND_TIMEOUT_USEC=1")).isTrue();
                assertThat(n.notify("READY=1")).isTrue();
                NotifySocketReceiver.Message m = rx.receive(Duration.ofSeconds(5));
                assertThat(m.text()).isEqualTo("STATUS=recovering disk a\nEXTEND_TIMEOUT_USEC=1");
                assertThat(m.senderPid()).isEqualTo(ProcessHandle.current().pid());
                assertThat(rx.receive(Duration.ofSeconds(5)).text()).isEqualTo("READY=1");
                assertThat(rx.receive(Duration.ofMillis(300))).isNull();
            }
        }
    }

    @Test
    void sendFailureIsReportedNotThrown() {
        assumeTrue(NotifySocketReceiver.supported(), "AF_UNIX datagrams need 64-bit Linux");
        try (SystemdNotifier n = SystemdNotifier.fromEnvironment(
                Map.of("NOTIFY_SOCKET", dir.resolve("nobody-listens").toString()), 1)) {
            assertThat(n.notify("READY=1")).isFalse();
        }
    }
}
