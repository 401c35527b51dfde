package io.mtagent.agent.bench;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.ingest.ScratchFolder;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.agent.security.PassphraseStore;
import io.mtagent.protocol.HandshakeCrypto;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Starts an agent in a child JVM for {@code mtagent bench --spawn}: writes a configuration with file-backed
 * disks under a working folder (emptied first), sets a random passphrase, starts {@code mtagent run} with the
 * same class path, and waits until the data port answers. The child's pid gives the CPU and memory figures.
 * {@link #close()} stops it with SIGTERM (a clean shutdown), then kills it after 30 s.
 */
public final class AgentSpawner implements AutoCloseable {
    /**
     * The launcher ({@code bin/mtagent}) caps glibc's malloc arenas, so the spawned agent runs with the same: with
     * one arena per thread that allocates natively, 256 disks' worth of threads added 60-120 MiB of RSS.
     */
    public static final String LAUNCHER_MALLOC_ARENA_MAX_ENV = "MALLOC_ARENA_MAX";
    public static final String LAUNCHER_MALLOC_ARENA_MAX = "2";

    private final Path dir;
    private final AgentConfig config;
    private final char[] passphrase;
    private final Process process;
    private final String fingerprint;
    private final List<String> diskIds;

    private AgentSpawner(Path dir, AgentConfig config, char[] passphrase, Process process, String fingerprint,
                         List<String> diskIds) {
        this.dir = dir;
        this.config = config;
        this.passphrase = passphrase;
        this.process = process;
        this.fingerprint = fingerprint;
        this.diskIds = diskIds;
    }

    /**
     * @param dir working folder: new, empty or one an earlier run created (its {@link ScratchFolder} marker);
     *        emptied first. Any other folder is refused, so nothing the agent did not create is deleted
     * @param disks number of disks
     * @param diskBytes size of each disk
     * @param retention keep a retention journal (retention.dir in the folder)
     * @param overrides further settings, applied last
     * @param javaOptions JVM options of the child (for example -Xmx512m)
     * @param writtenDisks write every disk file full before the agent starts, as a real disk is allocated end to
     *        end; else the agent creates them sparse, and reading a hole costs no device I/O
     */
    public static AgentSpawner start(Path dir, int disks, long diskBytes, boolean retention,
                                     Map<String, String> overrides, List<String> javaOptions, boolean writtenDisks)
            throws Exception {
        ScratchFolder.claim(dir, "bench --spawn", "--dir").clear();
        Map<String, String> s = new LinkedHashMap<>();
        s.put("data.listen", "127.0.0.1:" + freePort());
        s.put("control.listen", "127.0.0.1:" + freePort());
        s.put("state.dir", dir.resolve("state").toAbsolutePath().toString());
        s.put("cache.dir", dir.resolve("cache").toAbsolutePath().toString());
        if (retention) {
            s.put("retention.dir", dir.resolve("retention").toAbsolutePath().toString());
            s.put("retention.allow.shared.volume", "true"); // one working folder on purpose
        }
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < disks; i++) {
            String id = "bench-" + i;
            ids.add(id);
            s.put("disk.d" + i + ".id", id);
            s.put("disk.d" + i + ".path", dir.resolve("disks").resolve(id + ".img").toAbsolutePath().toString());
            s.put("disk.d" + i + ".size", String.valueOf(diskBytes));
            if (writtenDisks) {
                writeFull(dir.resolve("disks").resolve(id + ".img"), diskBytes);
            }
        }
        s.putAll(overrides);
        AgentConfig config = AgentConfig.of(s);
        Path file = dir.resolve("agent.properties");
        Properties p = new Properties();
        p.putAll(s);
        try (var out = Files.newOutputStream(file)) {
            p.store(out, "mtagent bench --spawn");
        }
        byte[] raw = new byte[18];
        new SecureRandom().nextBytes(raw);
        char[] passphrase = Base64.getUrlEncoder().withoutPadding().encodeToString(raw).toCharArray();
        Files.createDirectories(config.stateDir());
        PassphraseStore.set(config.stateDir(), passphrase.clone(), config.authIterations());
        // Kept (mode 0600) so the agent can be started again on the same folder and driven with --connect.
        writeOwnerOnly(dir.resolve("passphrase"), new String(passphrase) + "\n");

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(javaOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.mtagent.agent.cli.MtAgentCli", "run",
                "--config", file.toAbsolutePath().toString()));
        Path log = dir.resolve("agent.log");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putIfAbsent(LAUNCHER_MALLOC_ARENA_MAX_ENV, LAUNCHER_MALLOC_ARENA_MAX); // as bin/mtagent
        Process process = builder.start();
        // Never leave the child behind when the bench itself is stopped (Ctrl-C, SIGTERM).
        Thread reaper = new Thread(process::destroy, "bench-agent-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            String fp = awaitReady(process, config, log);
            return new AgentSpawner(dir, config, passphrase, process, fp, ids);
        } catch (Exception e) {
            process.destroyForcibly();
            throw e;
        }
    }

    private static void writeOwnerOnly(Path file, String text) throws IOException {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            return; // not POSIX (Windows): keep no copy rather than a readable one
        }
        Files.writeString(file, text);
    }

    private static String awaitReady(Process process, AgentConfig config, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Path cert = config.stateDir().resolve(AgentIdentity.CERT_FILE);
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the spawned agent exited with " + process.exitValue() + "; see " + log);
            }
            if (Files.exists(cert) && accepts(config.dataListen().host(), config.dataListen().port())) {
                try (InputStream in = Files.newInputStream(cert)) {
                    byte[] der = CertificateFactory.getInstance("X.509").generateCertificate(in).getEncoded();
                    return HandshakeCrypto.formatFingerprint(HandshakeCrypto.fingerprint(der));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the spawned agent did not listen on " + config.dataListen()
                        + " within 60 s; see " + log);
            }
            Thread.sleep(100);
        }
    }

    private static boolean accepts(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public AgentConfig config() { return config; }
    public char[] passphrase() { return passphrase.clone(); }
    public String fingerprint() { return fingerprint; }
    public long pid() { return process.pid(); }
    public List<String> diskIds() { return diskIds; }
    public Path dir() { return dir; }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Writes {@code bytes} of zeros to a new {@code file} and syncs it: every block allocated and written, so the
     * agent's before-image reads reach the device as they would on a real disk (the fio baseline lays its files
     * out the same way). A sparse file's holes read as zeros with no I/O at all.
     */
    static void writeFull(Path file, long bytes) throws IOException {
        Files.createDirectories(file.getParent());
        ByteBuffer zeros = ByteBuffer.allocateDirect(8 << 20);
        try (FileChannel ch = FileChannel.open(file,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long at = 0; at < bytes; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
                at += ch.write(zeros, at);
            }
            ch.force(true);
        }
    }
}
