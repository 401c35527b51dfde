package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control port under the issue-21 flood, through the real TLS server: 2,000 slow-header connections (one byte
 * of a TLS ClientHello every 200 ms, the classic slowloris) plus unauthenticated requests with unfinished 64 KiB
 * bodies ({@code mtagent.flood.bodies}, default 1,000; the probe used 4,000), while an authenticated
 * replication stream runs. The stream keeps being acknowledged, no disk changes state, {@code /health} answers
 * within 1 s throughout, the open connections stay under the cap, and the process RSS stays bounded (the figure is
 * printed).
 */
class ControlFloodTest {
    private static final int SLOW = 2_000;
    private static final int BODIES = Integer.getInteger("mtagent.flood.bodies", 1_000);

    @TempDir
    Path dir;

    @Test
    void slowHeadersAndUnfinishedBodiesDoNotReachReplicationOrHealth() throws Exception {
        try (Agent agent = TestAgents.start(TestAgents.settings(dir, 1, 64 << 20))) {
            ControlHttp http = new ControlHttp(agent);
            int port = agent.controlAddress().getPort();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong acked = new AtomicLong();
            Thread replication = new Thread(() -> stream(agent, stop, acked), "replication");
            replication.start();
            long rssBefore = rssKiB();
            List<Socket> slow = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            LongAdder refusedBodies = new LongAdder();
            try {
                for (int i = 0; i < SLOW; i++) {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                    s.getOutputStream().write(0x16); // the first byte of a TLS record, then nothing more yet
                    slow.add(s);
                }
                SSLContext tls = trustAll();
                for (int i = 0; i < BODIES; i++) {
                    pool.execute(() -> {
                        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
                            s.setSoTimeout(10_000);
                            OutputStream out = s.getOutputStream();
                            out.write(("POST /v1/export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    + "Content-Length: 65536\r\n\r\n{\"disk\":").getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                            byte[] answer = s.getInputStream().readNBytes(12);
                            if (new String(answer, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 401")) {
                                refusedBodies.increment();
                            }
                        } catch (Exception e) {
                            // evicted or refused at the cap: fine for an attacker's connection
                        }
                    });
                }
                long slowest = 0;
                // The stimulus: 8 s of flood (at least 5 probes), measured from the operator's side throughout.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
                int checks = 0;
                while (System.nanoTime() < deadline || checks < 5) {
                    for (Socket s : slow) {
                        try {
                            s.getOutputStream().write(0x03); // trickle: one byte per socket per round
                        } catch (Exception e) {
                            // closed by the agent
                        }
                    }
                    long begin = System.nanoTime();
                    HttpResponse<String> health = http.send("GET", "/health", null, null);
                    long took = (System.nanoTime() - begin) / 1_000_000;
                    slowest = Math.max(slowest, took);
                    assertThat(health.statusCode()).isEqualTo(200);
                    assertThat(took).as("/health answered within 1 s").isLessThan(1_000);
                    assertThat(agent.controlServer().openConnections()).isLessThanOrEqualTo(ControlServer.MAX_OPEN_CONNECTIONS);
                    checks++;
                    Thread.sleep(200); // the stimulus: an operator's probe every 200 ms through the whole flood
                }
                pool.shutdown();
                assertThat(pool.awaitTermination(120, TimeUnit.SECONDS)).isTrue();
                long ackedBefore = acked.get();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> acked.get() > ackedBefore);
                long rssAfter = rssKiB();
                System.out.printf("control flood: %d slow-header connections, %d unfinished 64 KiB bodies (%d got 401"
                        + " before any body byte was read); /health slowest %d ms over %d checks; %s; open control"
                        + " connections %d; RSS %d -> %d MiB; replication acked seq %d%n", SLOW, BODIES,
                        refusedBodies.sum(), slowest, checks, agent.controlServer().peerStats(),
                        agent.controlServer().openConnections(), rssBefore / 1024, rssAfter / 1024, acked.get());
                assertThat(refusedBodies.sum()).as("unauthenticated bodies refused at the headers").isPositive();
                assertThat(rssAfter - rssBefore).as("RSS growth in KiB").isLessThan(256 * 1024);
                for (ReplicatedDisk d : agent.disks().all()) {
                    assertThat(d.state()).as("disk %s", d.id()).isEqualTo(DiskState.PROTECTED);
                }
            } finally {
                stop.set(true);
                replication.join();
                pool.shutdownNow();
                for (Socket s : slow) {
                    s.close();
                }
            }
            assertThat(acked.get()).as("replication went on").isPositive();
        }
    }

    private static void stream(Agent agent, AtomicBoolean stop, AtomicLong acked) {
        try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
            DiskStream s = client.openDisk("disk-0", 1);
            byte[] data = new byte[64 << 10];
            long seq = 0;
            while (!stop.get()) {
                s.write((seq % 1000) * data.length, Unpooled.wrappedBuffer(data), System.currentTimeMillis() * 1000);
                seq++;
                if (seq % 64 == 0) {
                    s.flush(Duration.ofSeconds(30));
                    acked.set(s.ackedSeq());
                }
            }
        } catch (Exception e) {
            throw new AssertionError("the replication stream failed during the flood", e);
        }
    }

    private static long rssKiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) { }
            public void checkServerTrusted(X509Certificate[] c, String a) { }
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }}, null);
        return ctx;
    }
}
