package io.mtagent.agent.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NBD server over a real socket with a hand-written client: handshake, options, commands and the errors
 * of each. The export is a view of a file target with an empty journal (so the view equals the file).
 */
class NbdServerTest {
    private static final int DISK_BYTES = 1 << 20;
    private static final String NAME = "disk-0@seq:0";

    @TempDir
    Path dir;

    private byte[] image;
    private FileBlockDevice target;
    private RetentionJournal journal;
    private NbdServer server;
    private final AtomicInteger leasesOpen = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        image = new byte[DISK_BYTES];
        new SplittableRandom(4).nextBytes(image);
        Path file = dir.resolve("target.img");
        Files.write(file, image);
        target = FileBlockDevice.open(file);
        journal = RetentionJournal.open(dir.resolve("journal"), 1 << 20);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (server != null) {
            server.close();
        }
        journal.close();
        target.close();
    }

    private NbdServer start(io.netty.handler.ssl.SslContext tls) throws Exception {
        server = new NbdServer(new InetSocketAddress("127.0.0.1", 0), tls, 8).start();
        PointInTimeView view = new PointInTimeView(target, journal, 0);
        server.addExport(new NbdExport(NAME, "test view", DISK_BYTES, () -> {
            leasesOpen.incrementAndGet();
            return ViewLease.of(view, leasesOpen::decrementAndGet);
        }));
        return server;
    }

    private NbdTestClient connect() throws IOException {
        NbdTestClient c = new NbdTestClient(server.address());
        assertThat(c.handshakeFlags).isEqualTo(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        c.clientFlags(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES);
        return c;
    }

    @Test
    void goThenAlignedAndUnalignedReadsReturnTheView() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            long[] export = c.go(NAME);
            assertThat(export[0]).isEqualTo(DISK_BYTES);
            assertThat(export[1] & (Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_READ_ONLY))
                    .isEqualTo(Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_READ_ONLY);
            assertThat(c.read(0, 4096)).isEqualTo(Arrays.copyOfRange(image, 0, 4096));
            assertThat(c.read(1000, 3)).isEqualTo(Arrays.copyOfRange(image, 1000, 1003));
            assertThat(c.read(511, 1030)).isEqualTo(Arrays.copyOfRange(image, 511, 1541));
            assertThat(c.read(DISK_BYTES - 7, 7)).isEqualTo(Arrays.copyOfRange(image, DISK_BYTES - 7, DISK_BYTES));
            assertThat(c.read(0, DISK_BYTES)).isEqualTo(image);
            assertThat(server.readers(NAME)).isEqualTo(1);
            c.request(0, Nbd.CMD_FLUSH, 5, 0, 0);
            assertThat(c.reply(0).error()).isZero();
        }
    }

    @Test
    void infoListAndDefaultExportName() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            c.option(Nbd.OPT_LIST, new byte[0]);
            NbdTestClient.OptionReply server1 = c.optionReply();
            assertThat(server1.type()).isEqualTo(Nbd.REP_SERVER);
            assertThat(new String(server1.data(), 4, server1.data().length - 4, StandardCharsets.UTF_8)).isEqualTo(NAME);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);

            c.option(Nbd.OPT_INFO, NbdTestClient.goData(NAME, Nbd.INFO_BLOCK_SIZE, Nbd.INFO_DESCRIPTION));
            boolean sawBlockSize = false;
            boolean sawDescription = false;
            NbdTestClient.OptionReply r;
            while ((r = c.optionReply()).type() == Nbd.REP_INFO) {
                ByteBuffer b = ByteBuffer.wrap(r.data());
                int type = b.getShort();
                if (type == Nbd.INFO_BLOCK_SIZE) {
                    sawBlockSize = true;
                    assertThat(new int[] {b.getInt(), b.getInt(), b.getInt()}).containsExactly(512, 4096, 32 << 20);
                } else if (type == Nbd.INFO_DESCRIPTION) {
                    sawDescription = true;
                    assertThat(new String(r.data(), 2, r.data().length - 2, StandardCharsets.UTF_8)).isEqualTo("test view");
                }
            }
            assertThat(r.type()).isEqualTo(Nbd.REP_ACK);
            assertThat(sawBlockSize && sawDescription).isTrue();
            assertThat(leasesOpen).as("INFO does not open the view").hasValue(0);

            // The empty name is the only export.
            assertThat(c.go("")[0]).isEqualTo(DISK_BYTES);
            assertThat(leasesOpen).hasValue(1);
        }
    }

    @Test
    void unknownOptionAndUnknownExportAreRefusedAndHagglingGoesOn() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            c.option(11 /* NBD_OPT_EXTENDED_HEADERS */, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_UNSUP);
            c.option(4242, new byte[] {1, 2, 3});
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_UNSUP);
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_POLICY);
            c.option(Nbd.OPT_GO, NbdTestClient.goData("disk-9@seq:1"));
            NbdTestClient.OptionReply r = c.optionReply();
            assertThat(r.type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
            assertThat(r.text()).contains("no export named 'disk-9@seq:1'");
            c.option(Nbd.OPT_GO, new byte[] {0, 0, 0x10, 0}); // name length beyond the data
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
            // An option too large to buffer is skipped, not allocated, and answered.
            c.option(Nbd.OPT_INFO, new byte[Nbd.MAX_OPTION_LENGTH + 1]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_TOO_BIG);
            assertThat(c.go(NAME)[0]).isEqualTo(DISK_BYTES);
            assertThat(c.read(4096, 512)).isEqualTo(Arrays.copyOfRange(image, 4096, 4608));
        }
    }

    @Test
    void badMagicEndsTheConnection() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            c.rawOption(0x1122334455667788L, Nbd.OPT_GO, NbdTestClient.goData(NAME));
            assertThat(c.closedByServer()).isTrue();
        }
        try (NbdTestClient c = connect()) {
            c.go(NAME);
            c.write(new byte[28]); // a request without NBD_REQUEST_MAGIC
            assertThat(c.closedByServer()).isTrue();
        }
        try (NbdTestClient c = new NbdTestClient(server.address())) {
            c.clientFlags(0); // not fixed newstyle
            assertThat(c.closedByServer()).isTrue();
        }
        try (NbdTestClient c = connect()) {
            c.option(Nbd.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertThat(c.closedByServer()).as("EXPORT_NAME cannot be answered with an error").isTrue();
        }
        org.awaitility.Awaitility.await().until(() -> leasesOpen.get() == 0);
    }

    @Test
    void oversizeAndOutOfRangeReadsAreEinvalAndWritesEperm() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            c.go(NAME);
            c.request(0, Nbd.CMD_READ, 1, 0, (32L << 20) + 1);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EINVAL);
            c.request(0, Nbd.CMD_READ, 2, 0, 0xffffffffL);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EINVAL);
            c.request(0, Nbd.CMD_READ, 3, DISK_BYTES - 512, 1024);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EINVAL);
            c.request(0, Nbd.CMD_READ, 4, Long.MAX_VALUE, 512);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EINVAL);

            byte[] payload = new byte[8192];
            Arrays.fill(payload, (byte) 0x5a);
            c.request(0, Nbd.CMD_WRITE, 5, 0, payload.length);
            c.write(payload);
            NbdTestClient.SimpleReply w = c.reply(0);
            assertThat(w.error()).isEqualTo(Nbd.EPERM);
            assertThat(w.handle()).isEqualTo(5);
            c.request(0, Nbd.CMD_TRIM, 6, 0, 4096);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EPERM);
            c.request(0, Nbd.CMD_WRITE_ZEROES, 7, 0, 4096);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EPERM);
            c.request(0, 99, 8, 0, 0);
            assertThat(c.reply(0).error()).isEqualTo(Nbd.EINVAL);
            // The write payload was skipped, the stream is in step and nothing was written.
            assertThat(c.read(0, 8192)).isEqualTo(Arrays.copyOfRange(image, 0, 8192));
        }
        byte[] now = new byte[8192];
        target.read(0, ByteBuffer.wrap(now));
        assertThat(now).isEqualTo(Arrays.copyOfRange(image, 0, 8192));
    }

    @Test
    void disconnectClosesTheConnectionAndReleasesTheLease() throws Exception {
        start(null);
        try (NbdTestClient c = connect()) {
            c.go(NAME);
            assertThat(leasesOpen).hasValue(1);
            // Pipelined: the read before DISC is answered, then the server closes.
            c.request(0, Nbd.CMD_READ, 9, 0, 512);
            c.request(0, Nbd.CMD_DISC, 10, 0, 0);
            assertThat(c.reply(512).data()).isEqualTo(Arrays.copyOfRange(image, 0, 512));
            assertThat(c.closedByServer()).isTrue();
        }
        org.awaitility.Awaitility.await().until(() -> leasesOpen.get() == 0 && server.readers(NAME) == 0);
        try (NbdTestClient c = connect()) {
            c.option(Nbd.OPT_ABORT, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void oldStyleExportNameEntersTransmission() throws Exception {
        start(null);
        try (NbdTestClient c = new NbdTestClient(server.address())) {
            c.clientFlags(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE); // zeroes wanted
            c.option(Nbd.OPT_EXPORT_NAME, NAME.getBytes(StandardCharsets.UTF_8));
            // size (8) + flags (2) + 124 zero bytes, then transmission.
            c.request(0, Nbd.CMD_READ, 1, 2048, 512);
            byte[] head = c.readRaw(134);
            assertThat(ByteBuffer.wrap(head).getLong()).isEqualTo(DISK_BYTES);
            assertThat(c.reply(512).data()).isEqualTo(Arrays.copyOfRange(image, 2048, 2560));
        }
    }

    @Test
    void plainNbdIsRefusedOnNonLoopbackAddresses() {
        assertThatThrownBy(() -> new NbdServer(new InetSocketAddress("0.0.0.0", 0), null, 8).start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not a loopback address");
    }

    @Test
    void startTlsUpgradesTheSession() throws Exception {
        AgentIdentity identity = AgentIdentity.loadOrCreate(dir.resolve("state"), "nbd-test");
        start(identity.serverSslContext());
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("agent", identity.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        try (NbdTestClient c = connect()) {
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
            c.upgradeToTls(ssl.getSocketFactory());
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
            assertThat(c.go(NAME)[0]).isEqualTo(DISK_BYTES);
            assertThat(c.read(12345, 4000)).isEqualTo(Arrays.copyOfRange(image, 12345, 16345));
        }
    }
}
