package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.control.PinnedTrust;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.ControlToken;
import io.mtagent.protocol.client.ClientOptions;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control-port flood of {@code ControlFloodTest} at the full size (2,000 slow-header connections, 4,000
 * unfinished 64 KiB bodies: {@code mtagent.flood.bodies}) against the real agent in a child JVM ({@code mtagent
 * run}, -Xmx256m), so that the agent's own RSS (from {@code /proc/PID/status}) is measured apart from the test's
 * 6,000 client sockets. Opt-in, a long run: {@code -Dmtagent.flood.child=true}. Prints the agent's RSS before,
 * after and at its peak, the slowest {@code /health} and replication's progress; fails when replication stops,
 * a body is read unauthenticated, or {@code /health} is not 200.
 */
class ControlFloodChildAgentTest {
    private static final int SLOW = 2_000;
    private static final int BODIES = Integer.getInteger("mtagent.flood.bodies", 4_000);

    @TempDir
    Path dir;

    @Test
    void fullSizeFloodAgainstAChildAgent() throws Exception {
        if (!Boolean.getBoolean("mtagent.flood.child")) {
            System.err.println("SKIPPED: ControlFloodChildAgentTest is a long opt-in run:"
                    + " -Dmtagent.flood.child=true [-Dmtagent.flood.bodies=4000]");
            Assumptions.assumeTrue(false, "opt-in: -Dmtagent.flood.child=true");
        }
        int dataPort = freePort();
        int controlPort = freePort();
        Map<String, String> s = TestAgents.settings(dir, 1, 64 << 20);
        s.put("data.listen", "127.0.0.1:" + dataPort);
        s.put("control.listen", "127.0.0.1:" + controlPort);
        Path config = TestAgents.writeConfig(dir.resolve("agent.properties"), s);
        TestAgents.setPassphrase(dir.resolve("state"));
        try (ChildAgent agent = new ChildAgent(config, dir.resolve("agent.log"))) {
            agent.start();
            ClientOptions options = ClientOptions.builder("127.0.0.1", dataPort)
                    .passphrase(TestAgents.PASSPHRASE.toCharArray()).handshakeTimeout(Duration.ofSeconds(10)).build();
            ReplicationClient client = agent.connect(options);
            Path state = dir.resolve("state");
            HttpClient http = HttpClient.newBuilder()
                    .sslContext(PinnedTrust.pinnedFile(state.resolve(AgentIdentity.CERT_FILE))).build();
            URI health = URI.create("https://127.0.0.1:" + controlPort + "/health");
            Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> http.send(HttpRequest.newBuilder(health).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
            assertThat(ControlToken.read(state.resolve("control.token")).text()).isNotEmpty();

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong acked = new AtomicLong();
            Thread replication = new Thread(() -> stream(client, stop, acked), "replication");
            replication.start();
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> acked.get() > 0);
            long rssBefore = status(agent.pid(), "VmRSS:");
            List<Socket> slow = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            LongAdder refusedBodies = new LongAdder();
            List<Long> healthMillis = new ArrayList<>();
            try {
                for (int i = 0; i < SLOW; i++) {
                    Socket sock = new Socket();
                    sock.connect(new InetSocketAddress("127.0.0.1", controlPort), 5_000);
                    sock.getOutputStream().write(0x16);
                    slow.add(sock);
                }
                SSLContext tls = trustAll();
                for (int i = 0; i < BODIES; i++) {
                    pool.execute(() -> unfinishedBody(tls, controlPort, refusedBodies));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
                while (System.nanoTime() < deadline || healthMillis.size() < 5) {
                    for (Socket sock : slow) {
                        try {
                            sock.getOutputStream().write(0x03);
                        } catch (Exception e) {
                            // closed by the agent
                        }
                    }
                    long begin = System.nanoTime();
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(health).build(),
                            HttpResponse.BodyHandlers.ofString());
                    healthMillis.add((System.nanoTime() - begin) / 1_000_000);
                    assertThat(r.statusCode()).isEqualTo(200);
                    Thread.sleep(200); // the stimulus: an operator's probe every 200 ms through the whole flood
                }
                pool.shutdown();
                assertThat(pool.awaitTermination(180, TimeUnit.SECONDS)).isTrue();
                long ackedBefore = acked.get();
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> acked.get() > ackedBefore);
                long rssAfter = status(agent.pid(), "VmRSS:");
                long rssPeak = status(agent.pid(), "VmHWM:");
                System.out.printf("control flood against a child-JVM agent (-Xmx256m): %d slow-header connections, %d"
                                + " unfinished 64 KiB bodies (%d got 401 before any body byte was read); /health in ms"
                                + " per check %s; agent RSS %d -> %d MiB, peak %d MiB; replication acked seq %d%n",
                        SLOW, BODIES, refusedBodies.sum(), healthMillis, rssBefore / 1024, rssAfter / 1024,
                        rssPeak / 1024, acked.get());
                assertThat(refusedBodies.sum()).as("unauthenticated bodies refused at the headers").isPositive();
            } finally {
                stop.set(true);
                replication.join();
                pool.shutdownNow();
                for (Socket sock : slow) {
                    sock.close();
                }
                client.close();
            }
        }
    }

    private static void unfinishedBody(SSLContext tls, int port, LongAdder refused) {
        try (SSLSocket sock = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
            sock.setSoTimeout(10_000);
            OutputStream out = sock.getOutputStream();
            out.write(("POST /v1/export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 65536\r\n\r\n{\"disk\":").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] answer = sock.getInputStream().readNBytes(12);
            if (new String(answer, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 401")) {
                refused.increment();
            }
        } catch (Exception e) {
            // evicted or refused at the cap: fine for an attacker's connection
        }
    }

    private static void stream(ReplicationClient client, AtomicBoolean stop, AtomicLong acked) {
        try {
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

    /** A {@code /proc/PID/status} field in KiB. */
    private static long status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static int freePort() throws Exception {
        try (ServerSocket sock = new ServerSocket(0)) {
            return sock.getLocalPort();
        }
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
