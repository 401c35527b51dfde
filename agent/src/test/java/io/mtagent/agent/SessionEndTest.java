package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a data session ends, through the real TLS server: on shutdown (SPEC.md §6.8) the SHUTTING_DOWN frame
 * arrives and is the last frame, even while the process server is still sending and has not read its ACKs (the
 * case where closing with unread input reset the connection and dropped it); and an authenticated session that
 * receives nothing is closed after {@code data.idle.timeout}, while one that sends PINGs stays (§5.14).
 */
class SessionEndTest {
    @TempDir
    Path dir;

    @Test
    void shuttingDownArrivesLastWhileTheClientIsStillSending() throws Exception {
        for (int trial = 0; trial < 3; trial++) {
            Path root = dir.resolve("trial-" + trial);
            Agent agent = TestAgents.start(TestAgents.settings(root, 1, 16 << 20));
            List<Frame> frames = new ArrayList<>();
            try (RawTlsClient c = new RawTlsClient(agent.dataAddress().getPort(), true)) {
                assertThat(c.authenticate(TestAgents.PASSPHRASE)).isInstanceOf(Frames.AuthOk.class);
                c.send(new Frames.OpenDisk(1, 1, 0, "disk-0"));
                c.readUntil(Frames.DiskOpened.class);
                Thread writer = new Thread(() -> {
                    try {
                        for (int seq = 1; seq <= 12_000; seq++) { // 6.6 MB: inside the 8 MiB credit window
                            c.send(WritePayloads.encode(ByteBufAllocator.DEFAULT, 1, seq, 1, (seq % 2048) * 512L,
                                    Unpooled.wrappedBuffer(new byte[512]), false));
                        }
                    } catch (Exception e) {
                        // the agent closed the connection: expected
                    }
                });
                writer.start();
                // Not reading: the agent's ACKs and CREDITs fill this side's window and then the agent's send buffer.
                Awaitility.await().atMost(Duration.ofSeconds(30))
                        .until(() -> agent.disks().byId("disk-0").lastDurableSeq() >= 3_000);
                Thread closer = new Thread(agent::close);
                closer.start();
                try {
                    while (true) {
                        frames.add(c.read());
                    }
                } catch (java.io.EOFException | java.net.SocketException e) {
                    // end of stream
                }
                closer.join();
                writer.join();
            } finally {
                agent.close();
            }
            assertThat(frames).as("trial %d: frames received", trial).isNotEmpty();
            Frame last = frames.get(frames.size() - 1);
            assertThat(last).as("trial %d: the last frame of %d", trial, frames.size())
                    .isInstanceOf(Frames.Error.class);
            assertThat(((Frames.Error) last).errorCode()).isEqualTo(ErrorCode.SHUTTING_DOWN);
            long acked = frames.stream().filter(Frames.Ack.class::isInstance).mapToLong(f -> ((Frames.Ack) f).ackedSeq())
                    .max().orElse(0);
            assertThat(acked).as("trial %d: the final ACK covers what was durable", trial).isGreaterThanOrEqualTo(3_000);
            frames.forEach(ReferenceCountUtil::release);
        }
    }

    @Test
    void anIdleSessionIsClosedAndOneThatPingsStays() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        s.put("data.idle.timeout", "2s");
        try (Agent agent = TestAgents.start(s);
             RawTlsClient idle = new RawTlsClient(agent.dataAddress().getPort(), true);
             RawTlsClient pinging = new RawTlsClient(agent.dataAddress().getPort(), true)) {
            assertThat(idle.authenticate(TestAgents.PASSPHRASE)).isInstanceOf(Frames.AuthOk.class);
            assertThat(pinging.authenticate(TestAgents.PASSPHRASE)).isInstanceOf(Frames.AuthOk.class);
            long start = System.nanoTime();
            for (int i = 0; i < 8; i++) { // 4 s: twice the time-out
                pinging.send(new Frames.Ping(i));
                assertThat(pinging.readUntil(Frames.Pong.class).nonce()).isEqualTo(i);
                Thread.sleep(500); // the stimulus: time passes, the pinging session stays active, the idle one not
            }
            assertThat(idle.closedByPeer()).as("the idle session was closed").isTrue();
            assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(1_500);
            pinging.send(new Frames.Ping(99));
            assertThat(pinging.readUntil(Frames.Pong.class).nonce()).as("the pinging session is alive").isEqualTo(99);
            assertThat(agent.dataServer().peerStats().idleTimeouts.sum()).isEqualTo(1);
        }
    }
}
