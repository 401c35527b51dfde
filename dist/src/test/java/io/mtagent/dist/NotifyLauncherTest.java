package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mtagent.nativeio.systemd.NotifySocketReceiver;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unpacked archive's {@code bin/mtagent run} under a fake systemd: the test owns the NOTIFY_SOCKET (an
 * AF_UNIX datagram socket with SO_PASSCRED, so the kernel tells it the sender's PID, which is how systemd
 * enforces NotifyAccess=main) and checks STATUS= during recovery, READY=1 only when the data port accepts TLS
 * (a full TLS + passphrase handshake right when READY arrives), periodic WATCHDOG=1, STOPPING=1 on SIGTERM —
 * every datagram from the PID the launcher was started as (it execs java). Then: the next start after SIGTERM
 * skips the journal scan and has every acknowledged write; after kill -9 it scans and has every one too.
 */
class NotifyLauncherTest {
    private static final String PASSPHRASE = "correct horse battery staple";

    @TempDir
    Path dir;

    private Path home;
    private Path config;
    private int port;

    @Test
    void notifiesLikeANotifyServiceAndShutsDownCleanly() throws Exception {
        assumeTrue(NotifySocketReceiver.supported(), "sd_notify needs 64-bit Linux");
        Files.createDirectories(dir.resolve("dist"));
        home = Dist.unpack(dir.resolve("dist"));
        writeConfig();

        long acked;
        Path log1 = dir.resolve("run1.log");
        try (NotifySocketReceiver rx = NotifySocketReceiver.bind(dir.resolve("notify.sock").toString())) {
            Process agent = Dist.launcher(home, dir, log1, Map.of("NOTIFY_SOCKET", rx.address(),
                    "WATCHDOG_USEC", "1000000"), List.of("run", "--config", config.toString())).start();
            try {
                List<String> beforeReady = new ArrayList<>();
                ReplicationClient client = null;
                while (client == null) {
                    NotifySocketReceiver.Message m = next(rx, agent, log1);
                    if (m.text().contains("READY=1")) {
                        // Right now, no retry: READY must mean the port accepts TLS and the handshake.
                        client = ReplicationClient.connect(options());
                        assertThat(m.text()).contains("MAINPID=" + agent.pid());
                    } else {
                        beforeReady.add(m.text());
                    }
                }
                assertThat(beforeReady).as("STATUS= lines while recovering, before READY")
                        .anySatisfy(t -> assertThat(t).contains("STATUS=recovering ingest log of disk disk-0",
                                "EXTEND_TIMEOUT_USEC="))
                        .anySatisfy(t -> assertThat(t).contains("STATUS=recovering ingest log of disk disk-1"))
                        .noneSatisfy(t -> assertThat(t).contains("WATCHDOG=1"));

                long start = System.nanoTime();
                int pings = 0;
                while (pings < 3) {
                    NotifySocketReceiver.Message m = next(rx, agent, log1);
                    pings += m.text().equals("WATCHDOG=1") ? 1 : 0;
                }
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("3 pings at WATCHDOG_USEC/2 = 0.5 s")
                        .isLessThan(Duration.ofSeconds(5));

                acked = write(client, 1, 200);
                client.close();

                agent.destroy(); // SIGTERM
                NotifySocketReceiver.Message m;
                do {
                    m = next(rx, agent, log1);
                } while (!m.text().contains("STOPPING=1"));
                assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(agent.exitValue()).as(Dist.read(log1)).isZero();
            } finally {
                agent.destroyForcibly();
            }
        }
        assertThat(Dist.read(log1)).contains("shutdown complete");

        // After SIGTERM: no scan, nothing lost (and no NOTIFY_SOCKET now: the notifier is a no-op).
        Path log2 = dir.resolve("run2.log");
        Process agent = Dist.launcher(home, dir, log2, Map.of(), List.of("run", "--config", config.toString())).start();
        long acked2;
        try {
            awaitReady(agent, log2);
            assertThat(Dist.read(log2)).contains("ingest log d0: clean shutdown, no scan",
                    "ingest log d1: clean shutdown, no scan").doesNotContain("scanned");
            try (ReplicationClient client = ReplicationClient.connect(options())) {
                DiskStream s = client.openDisk("disk-0", 2);
                assertThat(s.info().lastDurableSeq()).as("acknowledged before SIGTERM").isGreaterThanOrEqualTo(acked);
                acked2 = write(client, 3, 100);
            }
        } finally {
            agent.destroyForcibly(); // kill -9
            agent.waitFor(30, TimeUnit.SECONDS);
        }

        // After kill -9: the scan runs and nothing acknowledged is lost.
        Path log3 = dir.resolve("run3.log");
        agent = Dist.launcher(home, dir, log3, Map.of(), List.of("run", "--config", config.toString())).start();
        try {
            awaitReady(agent, log3);
            assertThat(Dist.read(log3)).contains("ingest log d0: no clean-shutdown marker, scanned")
                    .doesNotContain("clean shutdown, no scan");
            try (ReplicationClient client = ReplicationClient.connect(options())) {
                DiskStream s = client.openDisk("disk-0", 4);
                assertThat(s.info().lastDurableSeq()).as("acknowledged before kill -9").isGreaterThanOrEqualTo(acked2);
            }
            agent.destroy();
            assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(agent.exitValue()).isZero();
        } finally {
            agent.destroyForcibly();
        }
    }

    /** Writes {@code count} 4 KiB blocks to disk-0 under {@code epoch}; returns the acknowledged seq. */
    private static long write(ReplicationClient client, long epoch, int count) throws Exception {
        DiskStream s = client.openDisk("disk-0", epoch);
        byte[] block = new byte[4096];
        for (int i = 0; i < count; i++) {
            java.util.Arrays.fill(block, (byte) (i + epoch));
            s.write((long) (i % 256) * 4096, block);
        }
        s.flush(Duration.ofSeconds(60));
        assertThat(s.ackedSeq()).isGreaterThanOrEqualTo(count);
        return s.ackedSeq();
    }

    private NotifySocketReceiver.Message next(NotifySocketReceiver rx, Process agent, Path log) throws Exception {
        NotifySocketReceiver.Message m = rx.receive(Duration.ofSeconds(60));
        assertThat(m).as("a notification within 60 s; agent alive=%s; log:%n%s", agent.isAlive(), Dist.read(log))
                .isNotNull();
        assertThat(m.senderPid()).as("sender PID (SO_PASSCRED) is the launcher's PID: it exec'd java")
                .isEqualTo(agent.pid());
        return m;
    }

    private static void awaitReady(Process agent, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Dist.read(log).contains("mtagent: ready;")) {
            assertThat(agent.isAlive()).as(Dist.read(log)).isTrue();
            assertThat(System.nanoTime()).as("ready within 60 s: " + Dist.read(log)).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private ClientOptions options() {
        return ClientOptions.builder("127.0.0.1", port).passphrase(PASSPHRASE.toCharArray())
                .handshakeTimeout(Duration.ofSeconds(10)).build();
    }

    private void writeConfig() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path pass = dir.resolve("passphrase");
        Files.writeString(pass, PASSPHRASE + "\n");
        StringBuilder c = new StringBuilder()
                .append("data.listen=127.0.0.1:").append(port).append('\n')
                .append("control.listen=127.0.0.1:0\n")
                .append("state.dir=").append(dir.resolve("state")).append('\n')
                .append("cache.dir=").append(dir.resolve("cache")).append('\n')
                .append("ingest.segment.bytes=2MiB\ningest.commit.max.bytes=1MiB\nauth.iterations=10000\n")
                .append("auth.passphrase.file=").append(pass).append('\n');
        for (int d = 0; d < 2; d++) {
            c.append("disk.d").append(d).append(".id=disk-").append(d).append('\n')
                    .append("disk.d").append(d).append(".path=").append(dir.resolve("targets/disk-" + d + ".img")).append('\n')
                    .append("disk.d").append(d).append(".size=8MiB\n");
        }
        config = dir.resolve("agent.properties");
        Files.writeString(config, c);
    }
}
