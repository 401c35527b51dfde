package io.mtagent.nativeio.nbd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real NBD servers for tests: nbdkit and qemu-nbd in child processes on a Unix socket in a temp dir, stopped
 * (and waited for) on close. The tools come from Debian's nbdkit and qemu-utils (.ci/run installs them); tests
 * that need one call {@link #assumeTools} first, which skips them loudly when a tool or libnbd is missing.
 */
public final class NbdTestServers {
    private NbdTestServers() {
    }

    /** Skips the calling test (with a message on stderr and in the report) unless every tool and libnbd are here. */
    public static void assumeTools(String... tools) {
        String libnbd = NbdClient.unavailableReason();
        if (libnbd != null) {
            System.err.println("SKIPPED: " + libnbd + " (.ci/run installs libnbd0)");
        }
        assumeTrue(libnbd == null, "SKIPPED: " + libnbd);
        for (String t : tools) {
            boolean here = onPath(t);
            if (!here) {
                System.err.println("SKIPPED: '" + t + "' is not installed (.ci/run installs nbdkit, qemu-utils and"
                        + " libnbd-bin)");
            }
            assumeTrue(here, "SKIPPED: '" + t + "' is not installed (.ci/run installs nbdkit, qemu-utils, libnbd-bin)");
        }
    }

    public static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool));
    }

    /** A running server and the URI to reach it. */
    public static final class Server implements AutoCloseable {
        private final Process process;
        private final Path socket;
        private final Path log;

        Server(Process process, Path socket, Path log) {
            this.process = process;
            this.socket = socket;
            this.log = log;
        }

        public String uri() {
            return "nbd+unix:///?socket=" + socket;
        }

        public Path socket() {
            return socket;
        }

        public Process process() {
            return process;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(socket);
        }

        String logText() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }
    }

    /** {@code nbdkit --foreground --unix SOCK PLUGIN ARGS...} (e.g. {@code file file=/x}, {@code memory 1G}). */
    public static Server nbdkit(Path dir, String name, String... pluginAndArgs) throws Exception {
        Path sock = dir.resolve(name + ".sock");
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "--foreground", "--exit-with-parent", "--unix",
                sock.toString()));
        cmd.addAll(List.of(pluginAndArgs));
        return start(cmd, sock, dir.resolve(name + ".log"));
    }

    /**
     * {@code qemu-nbd} serving {@code image} read-only on a Unix socket (several clients at once, persistent),
     * exposing dirty bitmap {@code bitmap} as {@code qemu:dirty-bitmap:NAME} when not null.
     */
    public static Server qemuNbd(Path dir, String name, Path image, String format, String bitmap) throws Exception {
        Path sock = dir.resolve(name + ".sock");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "--read-only", "--persistent", "--shared=8",
                "--format=" + format, "--socket=" + sock));
        if (bitmap != null) {
            cmd.add("--bitmap=" + bitmap);
        }
        cmd.add(image.toString());
        return start(cmd, sock, dir.resolve(name + ".log"));
    }

    private static Server start(List<String> cmd, Path sock, Path log) throws Exception {
        Files.deleteIfExists(sock);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Server s = new Server(p, sock, log);
        try {
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
                if (!p.isAlive()) {
                    throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": "
                            + s.logText());
                }
                return connectable(sock);
            });
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private static boolean connectable(Path sock) {
        if (!Files.exists(sock)) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a tool to completion (at most 2 minutes) and returns its output; fails on a non-zero exit. */
    public static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 2 minutes");
        }
        String text = new String(out);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + text);
        }
        return text;
    }
}
