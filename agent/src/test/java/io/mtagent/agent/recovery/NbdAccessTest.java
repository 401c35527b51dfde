package io.mtagent.agent.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.journal.RetentionJournal;
import io.mtagent.agent.security.NbdCa;
import io.mtagent.nativeio.FileBlockDevice;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who gets in to the NBD server and who does not (issue 21), through the real server with real readers
 * (qemu-img, nbdcopy, nbdinfo; each test skips loudly when its tool is missing): a Unix socket only its owner (or
 * its group) may connect to, a TCP port that requires TLS with a client certificate from the agent's NBD client CA,
 * a fixed handshake deadline, an idle time-out, and connection caps that evict the oldest pending handshake so idle
 * connections never keep a real reader out.
 */
class NbdAccessTest {
    private static final int DISK_BYTES = 4 << 20;
    private static final String NAME = "disk-0@seq:7";

    @TempDir
    Path dir;

    private byte[] image;
    private FileBlockDevice target;
    private RetentionJournal journal;
    private NbdCa ca;
    private final List<NbdServer> servers = new ArrayList<>();
    private final AtomicInteger leasesOpen = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        image = new byte[DISK_BYTES];
        new SplittableRandom(21).nextBytes(image);
        Path file = dir.resolve("target.img");
        Files.write(file, image);
        target = FileBlockDevice.open(file);
        journal = RetentionJournal.open(dir.resolve("journal"), 1 << 20);
        ca = NbdCa.loadOrCreate(dir.resolve("state"), "test");
    }

    @AfterEach
    void tearDown() throws IOException {
        servers.forEach(NbdServer::close);
        journal.close();
        target.close();
    }

    private NbdServer start(Path socket, Optional<String> group, NbdLimits limits) throws Exception {
        NbdServer server = new NbdServer(List.of(NbdListener.unix(socket, group),
                NbdListener.tls(new InetSocketAddress("127.0.0.1", 0),
                        ca.serverContext("localhost", List.of(ca.certificate())))), limits).start();
        servers.add(server);
        PointInTimeView view = new PointInTimeView(target, journal, 0);
        server.addExport(new NbdExport(NAME, "test view", DISK_BYTES, () -> {
            leasesOpen.incrementAndGet();
            return ViewLease.of(view, leasesOpen::decrementAndGet);
        }));
        return server;
    }

    private NbdServer start(NbdLimits limits) throws Exception {
        return start(dir.resolve("nbd.sock"), Optional.empty(), limits);
    }

    private Path clientDirectory(String name, NbdCa issuer) throws IOException {
        Path out = dir.resolve(name);
        issuer.writeClientDirectory(out, issuer.issue(name, Duration.ofDays(1)), false);
        if (issuer != ca) {
            // A stranger who trusts the agent and its own CA (so its client validates its own certificate and
            // connects) but holds a certificate the agent's CA did not sign: the server must refuse it.
            Files.write(out.resolve("ca-cert.pem"), Files.readAllBytes(dir.resolve("state").resolve(NbdCa.CERT_FILE)),
                    StandardOpenOption.TRUNCATE_EXISTING);
            Files.write(out.resolve("ca-cert.pem"), Files.readAllBytes(dir.resolve(name + "-ca").resolve(NbdCa.CERT_FILE)),
                    StandardOpenOption.APPEND);
        }
        return out;
    }

    // ------------------------------------------------------------------ real readers

    @Test
    void idleConnectionsDoNotKeepRealReadersOut() throws Exception {
        requireTool("qemu-img", "qemu-utils");
        NbdServer server = start(NbdLimits.defaults());
        int tlsPort = server.address().getPort();
        Path socket = dir.resolve("nbd.sock");
        Path certificates = clientDirectory("reader", ca);
        List<Socket> idleTcp = new ArrayList<>();
        List<SocketChannel> idleUnix = new ArrayList<>();
        try {
            for (int i = 0; i < 32; i++) {
                idleTcp.add(new Socket("127.0.0.1", tlsPort)); // never sends a byte
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                c.connect(UnixDomainSocketAddress.of(socket));
                idleUnix.add(c);
            }
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> server.peerStats().connectionsRefused.sum() >= 2 * (32 - 8));

            long t0 = System.nanoTime();
            Path viaUnix = dir.resolve("unix.raw");
            run(List.of("qemu-img", "convert", "-f", "raw", "-O", "raw", "nbd+unix:///" + NAME + "?socket=" + socket,
                    viaUnix.toString()));
            long unixMillis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(Files.readAllBytes(viaUnix)).isEqualTo(image);

            long t1 = System.nanoTime();
            Path viaTls = dir.resolve("tls.raw");
            run(List.of("qemu-img", "convert", "-O", "raw", "--object",
                    "tls-creds-x509,id=tls0,dir=" + certificates + ",endpoint=client", "--image-opts",
                    "driver=nbd,host=127.0.0.1,port=" + tlsPort + ",export=" + NAME + ",tls-creds=tls0",
                    viaTls.toString()));
            long tlsMillis = (System.nanoTime() - t1) / 1_000_000;
            assertThat(Files.readAllBytes(viaTls)).isEqualTo(image);
            System.out.printf("NBD with 32 idle TCP + 32 idle Unix-socket connections open: qemu-img over the Unix"
                            + " socket %d ms, over TLS with a client certificate %d ms; %s; open %d%n", unixMillis,
                    tlsMillis, server.peerStats(), server.openConnections());
            assertThat(unixMillis).as("qemu-img over the Unix socket got in within 10 s").isLessThan(10_000);
            assertThat(tlsMillis).as("qemu-img over TLS got in within 10 s").isLessThan(10_000);
            assertThat(server.openConnections()).isLessThanOrEqualTo(NbdLimits.defaults().maxOpen());
        } finally {
            for (Socket s : idleTcp) {
                s.close();
            }
            for (SocketChannel c : idleUnix) {
                c.close();
            }
        }
    }

    @Test
    void printedCopyCommandsWork() throws Exception {
        requireTool("qemu-img", "qemu-utils");
        requireTool("nbdcopy", "libnbd-bin");
        NbdServer server = start(NbdLimits.defaults());
        Path certificates = clientDirectory("printed", ca);
        List<String> urls = NbdUrls.of(server.endpoints(), NAME, "localhost");
        assertThat(urls).containsExactly("nbd+unix:///" + NAME + "?socket=" + dir.resolve("nbd.sock"),
                "nbds://127.0.0.1:" + server.address().getPort() + "/" + NAME);
        int n = 0;
        for (String url : urls) {
            for (String command : NbdUrls.copyCommands(url, "out.raw")) {
                Path work = Files.createDirectory(dir.resolve("copy" + n++));
                Files.createFile(work.resolve("out.raw")); // nbdcopy writes into an existing file
                run(List.of("bash", "-c", "cd '" + work + "' && " + command.replace(NbdUrls.CERTIFICATE_DIR,
                        certificates.toString())));
                assertThat(Files.readAllBytes(work.resolve("out.raw"))).as(command).isEqualTo(image);
            }
        }
        assertThat(n).isEqualTo(4);
    }

    @Test
    void realReadersWithoutCredentialsAreRefused() throws Exception {
        requireTool("nbdinfo", "libnbd-bin");
        requireTool("qemu-img", "qemu-utils");
        NbdServer server = start(NbdLimits.defaults());
        int port = server.address().getPort();
        Path stranger = clientDirectory("stranger", NbdCa.loadOrCreate(dir.resolve("stranger-ca"), "elsewhere"));
        String url = "nbds://127.0.0.1:" + port + "/" + NAME;
        assertThat(exit(List.of("nbdinfo", url))).as("nbds:// without a client certificate").isNotZero();
        assertThat(exit(List.of("nbdinfo", url + "?tls-certificates=" + stranger)))
                .as("a client certificate from another CA").isNotZero();
        assertThat(exit(List.of("nbdinfo", "nbd://127.0.0.1:" + port + "/" + NAME))).as("plain NBD to the TLS port")
                .isNotZero();
        assertThat(exit(List.of("qemu-img", "info", "--object",
                "tls-creds-x509,id=tls0,dir=" + stranger + ",endpoint=client", "--image-opts",
                "driver=nbd,host=127.0.0.1,port=" + port + ",export=" + NAME + ",tls-creds=tls0")))
                .as("qemu-img with a certificate from another CA").isNotZero();
        Path good = clientDirectory("good", ca);
        assertThat(exit(List.of("nbdinfo", url + "?tls-certificates=" + good))).as("the right certificate").isZero();
        Awaitility.await().until(() -> leasesOpen.get() == 0);
    }

    @Test
    void socketPermissionsDecideWhichLocalUsersGetIn() throws Exception {
        requireTool("nbdinfo", "libnbd-bin");
        if (!"root".equals(System.getProperty("user.name")) || !new File("/usr/bin/setpriv").canExecute()) {
            System.err.println("SKIPPED: NbdAccessTest.socketPermissionsDecideWhichLocalUsersGetIn needs root and"
                    + " setpriv (util-linux) to connect as another user");
            Assumptions.assumeTrue(false, "not root or no setpriv");
        }
        // A directory every user may traverse, so only the socket's own permissions decide.
        Path open = Files.createTempDirectory(Path.of("/tmp"), "nbd-perm");
        try {
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path ownerOnly = open.resolve("owner.sock");
            start(ownerOnly, Optional.empty(), NbdLimits.defaults());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ownerOnly))).isEqualTo("rw-------");
            List<String> asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "nbdinfo");
            assertThat(exit(concat(asNobody, "nbd+unix:///" + NAME + "?socket=" + ownerOnly)))
                    .as("another user on a 0600 socket").isNotZero();

            Path grouped = open.resolve("group.sock");
            start(grouped, Optional.of("nogroup"), NbdLimits.defaults()); // gid 65534 on Debian
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(grouped))).isEqualTo("rw-rw----");
            assertThat(exit(concat(asNobody, "nbd+unix:///" + NAME + "?socket=" + grouped)))
                    .as("a member of the socket's group").isZero();
            assertThat(exit(List.of("setpriv", "--reuid=65534", "--regid=100", "--clear-groups", "nbdinfo",
                    "nbd+unix:///" + NAME + "?socket=" + grouped))).as("a user outside the group").isNotZero();
        } finally {
            servers.forEach(NbdServer::close);
            servers.clear();
            Files.walk(open).sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }

    // ------------------------------------------------------------------ the wire, byte by byte

    @Test
    void tlsPortRefusesPlainClientsAndClientsWithoutTheRightCertificate() throws Exception {
        NbdServer server = start(NbdLimits.defaults());
        try (NbdTestClient c = new NbdTestClient(server.address())) {
            c.clientFlags(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES);
            c.option(Nbd.OPT_LIST, new byte[0]);
            assertThat(c.optionReply().type()).as("no export list before TLS").isEqualTo(Nbd.REP_ERR_TLS_REQD);
            c.option(Nbd.OPT_GO, NbdTestClient.goData(NAME));
            assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ERR_TLS_REQD);
            c.option(Nbd.OPT_EXPORT_NAME, NAME.getBytes(StandardCharsets.UTF_8));
            assertThat(c.closedByServer()).isTrue();
        }
        assertThatThrownBy(() -> tlsClient(server, null).go(NAME)).as("no client certificate")
                .isInstanceOf(IOException.class);
        NbdCa other = NbdCa.loadOrCreate(dir.resolve("other-ca"), "elsewhere");
        assertThatThrownBy(() -> tlsClient(server, other.issue("mallory", Duration.ofDays(1))).go(NAME))
                .as("a certificate from another CA").isInstanceOf(IOException.class);
        assertThat(leasesOpen).as("no view opened for a refused client").hasValue(0);
        try (NbdTestClient c = tlsClient(server, ca.issue("alice", Duration.ofDays(1)))) {
            assertThat(c.go(NAME)[0]).isEqualTo(DISK_BYTES);
            assertThat(c.read(4096, 4096)).isEqualTo(Arrays.copyOfRange(image, 4096, 8192));
        }
    }

    @Test
    void handshakeDeadlineDoesNotRestartPerByte() throws Exception {
        NbdServer server = start(NbdLimits.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ZERO));
        try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            long start = System.nanoTime();
            s.getInputStream().readNBytes(18); // the greeting
            s.setSoTimeout(100);
            long closedAfter = -1;
            // One byte every 200 ms of a client-flags word and an option that never ends.
            byte[] trickle = new byte[64];
            trickle[3] = (byte) (Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES);
            for (int i = 0; i < trickle.length && closedAfter < 0; i++) {
                try {
                    s.getOutputStream().write(trickle[i]);
                    if (s.getInputStream().read() == -1) {
                        closedAfter = (System.nanoTime() - start) / 1_000_000;
                    }
                } catch (SocketTimeoutException stillOpen) {
                    Thread.sleep(100); // the stimulus: the slow trickle, one byte at a time
                } catch (IOException closed) {
                    closedAfter = (System.nanoTime() - start) / 1_000_000;
                }
            }
            assertThat(closedAfter).as("closed at the 1 s deadline although a byte came every 200 ms")
                    .isBetween(900L, 3_000L);
        }
        assertThat(server.peerStats().handshakeTimeouts.sum()).isEqualTo(1);
    }

    @Test
    void idleReaderIsDisconnectedAndABusyOneIsNot() throws Exception {
        NbdServer server = start(NbdLimits.defaults().withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(1)));
        try (NbdTestClient idle = unixClient(); NbdTestClient busy = unixClient()) {
            idle.go(NAME);
            busy.go(NAME);
            assertThat(idle.read(0, 512)).isEqualTo(Arrays.copyOfRange(image, 0, 512));
            long start = System.nanoTime();
            for (int i = 0; i < 8; i++) { // 2.4 s of reads, one every 300 ms
                assertThat(busy.read(512L * i, 512)).isEqualTo(Arrays.copyOfRange(image, 512 * i, 512 * (i + 1)));
                Thread.sleep(300); // the stimulus: time passes, the busy reader keeps reading, the idle one not
            }
            assertThat(idle.closedByServer()).as("the idle reader was disconnected").isTrue();
            assertThat(busy.read(0, 512)).as("the busy reader was not").isEqualTo(Arrays.copyOfRange(image, 0, 512));
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(1_000);
        }
        assertThat(server.peerStats().idleTimeouts.sum()).isEqualTo(1);
    }

    @Test
    void staleSocketIsReplacedButALiveOneOrAFileIsNot() throws Exception {
        Path socket = dir.resolve("nbd.sock");
        NbdServer first = start(socket, Optional.empty(), NbdLimits.defaults());
        assertThatThrownBy(() -> start(socket, Optional.empty(), NbdLimits.defaults()))
                .hasMessageContaining("another process serves NBD on nbd.socket=" + socket);
        first.close();
        // A socket file left behind by an agent killed with -9: bind it, close without removing it.
        try (java.nio.channels.ServerSocketChannel leftover = java.nio.channels.ServerSocketChannel
                .open(StandardProtocolFamily.UNIX)) {
            leftover.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
        start(socket, Optional.empty(), NbdLimits.defaults());
        try (NbdTestClient c = unixClient()) {
            assertThat(c.go(NAME)[0]).isEqualTo(DISK_BYTES);
        }
        Path file = dir.resolve("not-a-socket");
        Files.writeString(file, "precious");
        assertThatThrownBy(() -> start(file, Optional.empty(), NbdLimits.defaults()))
                .hasMessageContaining("exists and is not a socket");
        assertThat(Files.readString(file)).isEqualTo("precious");
    }

    // ------------------------------------------------------------------ helpers

    private NbdTestClient unixClient() throws IOException {
        NbdTestClient c = new NbdTestClient(dir.resolve("nbd.sock"), 10_000);
        c.clientFlags(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES);
        return c;
    }

    /** STARTTLS, then a TLS handshake trusting the agent's certificate and presenting {@code certificate}. */
    private NbdTestClient tlsClient(NbdServer server, NbdCa.Issued certificate) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("agent", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (certificate != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("me", certificate.key(), new char[0], new X509Certificate[] {certificate.certificate()});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        NbdTestClient c = new NbdTestClient(server.address());
        c.clientFlags(Nbd.CLIENT_FLAG_FIXED_NEWSTYLE | Nbd.CLIENT_FLAG_NO_ZEROES);
        c.option(Nbd.OPT_STARTTLS, new byte[0]);
        assertThat(c.optionReply().type()).isEqualTo(Nbd.REP_ACK);
        c.upgradeToTls(ssl.getSocketFactory());
        return c;
    }

    private static void requireTool(String tool, String debianPackage) {
        if (!new File("/usr/bin/" + tool).canExecute()) {
            System.err.println("SKIPPED: " + tool + " is not installed, so NbdAccessTest cannot read through a real"
                    + " NBD client. Install it with: apt-get install " + debianPackage);
            Assumptions.assumeTrue(false, tool + " missing");
        }
    }

    private static List<String> concat(List<String> head, String last) {
        List<String> all = new ArrayList<>(head);
        all.add(last);
        return all;
    }

    private void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + log).isZero();
    }

    private int exit(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        System.out.println("$ " + String.join(" ", command) + " -> " + p.exitValue() + "\n" + log.strip());
        return p.exitValue();
    }
}
