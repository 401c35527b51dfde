package io.mtagent.agent.powerloss;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A mounted lossyfs (agent/src/test/fuse/lossyfs.c, semantics in the README next to it): the test file system
 * that forgets everything not synced when {@link #cut()} is called. Compiles the C source with gcc into
 * {@code target/lossyfs/} once per JVM, mounts it on a folder, unmounts on {@link #close()}.
 *
 * <p>Not thread-safe: one test thread drives it (the agent under test only does file I/O on the mount).
 */
public final class LossyFs implements AutoCloseable {
    private static final Path SOURCE = Path.of("src/test/fuse/lossyfs.c");
    private static final int SIGUSR1 = 10; // Linux

    /** kill(2), to signal lossyfs without forking. */
    interface Libc extends com.sun.jna.Library {
        Libc INSTANCE = com.sun.jna.Native.load("c", Libc.class);

        int kill(int pid, int sig);
    }
    private static final Path BINARY = Path.of("target/lossyfs/lossyfs");
    private static String unavailable;
    private static boolean built;

    private final Path mountPoint;
    private final Path state;
    private final Process process;
    private final Path log;

    private LossyFs(Path mountPoint, Path state, Process process, Path log) {
        this.mountPoint = mountPoint;
        this.state = state;
        this.process = process;
        this.log = log;
    }

    /**
     * Why lossyfs cannot run here (no gcc, no libfuse3 headers, no /dev/fuse, not root...), or null when it can.
     * Builds the binary on first call.
     */
    public static synchronized String unavailableReason() {
        if (built || unavailable != null) {
            return unavailable;
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return unavailable = "/dev/fuse is missing (no FUSE in this kernel or container)";
        }
        if (!onPath("fusermount3")) {
            return unavailable = "fusermount3 is missing (Debian package fuse3)";
        }
        try {
            Files.createDirectories(BINARY.getParent());
            Process cflags = new ProcessBuilder("pkg-config", "--cflags", "--libs", "fuse3").redirectErrorStream(true)
                    .start();
            String flags = new String(cflags.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (cflags.waitFor() != 0) {
                return unavailable = "libfuse3 development files are missing (Debian packages libfuse3-dev and"
                        + " pkg-config): " + flags;
            }
            List<String> cmd = new java.util.ArrayList<>(List.of("gcc", "-O2", "-Wall", "-Wno-format-truncation", "-o", BINARY.toString(),
                    SOURCE.toString()));
            cmd.addAll(List.of(flags.split("\\s+")));
            Process gcc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (gcc.waitFor() != 0) {
                return unavailable = "gcc could not build " + SOURCE + ":\n" + out;
            }
            built = true;
            return null;
        } catch (IOException e) {
            return unavailable = "cannot build lossyfs (is gcc installed?): " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable = "interrupted";
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Mounts a fresh lossyfs on {@code work/mnt} (backing state in {@code work/fs}); its log in {@code work}. */
    public static LossyFs mount(Path work) throws IOException, InterruptedException {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        Path mnt = Files.createDirectories(work.resolve("mnt"));
        Path state = Files.createDirectories(work.resolve("fs"));
        Path log = work.resolve("lossyfs.log");
        ProcessBuilder pb = new ProcessBuilder(BINARY.toAbsolutePath().toString(), state.toString(), mnt.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        if (Boolean.getBoolean("powerloss.trace")) {
            pb.environment().put("LOSSYFS_TRACE", work.resolve("lossyfs.trace").toString());
        }
        Process p = pb.start();
        LossyFs fs = new LossyFs(mnt, state, p, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(mnt.resolve(".lossyfs"))) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("lossyfs did not mount on " + mnt + ":\n" + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return fs;
    }

    public Path root() {
        return mountPoint;
    }

    /**
     * The power goes off now (SIGUSR1): a sync in flight does not complete and every later change fails with EIO,
     * so the program cannot acknowledge anything after this instant. {@link #cut} (or {@link #cutTorn}) then
     * drops what was not synced and turns the power back on.
     */
    public void powerOff() throws IOException, InterruptedException {
        if (Libc.INSTANCE.kill((int) process.pid(), SIGUSR1) == 0) {
            return; // at once: forking kill(1) would take milliseconds, and the cut must land where it was aimed
        }
        Process k = new ProcessBuilder("kill", "-USR1", Long.toString(process.pid())).redirectErrorStream(true)
                .start();
        k.getInputStream().readAllBytes();
        if (k.waitFor() != 0) {
            throw new IOException("could not signal lossyfs (pid " + process.pid() + ")");
        }
    }

    /** Power cut: everything not synced is gone when this returns. */
    public void cut() throws IOException {
        command("cut");
    }

    /** Power cut where each unsynced 512-byte sector of a surviving file is kept with probability 1/2. */
    public void cutTorn(long seed) throws IOException {
        command("cut torn " + (seed & Long.MAX_VALUE));
    }

    /** Makes everything durable as it is now (setup steps the test does not want to examine). */
    public void syncAll() throws IOException {
        command("syncall");
    }

    /** Every later fsync/fdatasync of a file takes {@code micros} (a real disk's flush latency). */
    public void syncDelay(long micros) throws IOException {
        command("delay " + micros);
    }

    /** lossyfs's counters: fsync, fsyncdir, cuts, writes, sync_bytes. */
    public Map<String, Long> counters() throws IOException {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(mountPoint.resolve(".lossyfs"))) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1).trim()));
            }
        }
        return m;
    }

    private void command(String c) throws IOException {
        if (!process.isAlive()) {
            throw new IOException("lossyfs died:\n" + Files.readString(log));
        }
        Files.writeString(mountPoint.resolve(".lossyfs"), c + "\n");
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (int i = 0; i < 50; i++) {
            Process u = new ProcessBuilder("fusermount3", "-u", mountPoint.toString()).redirectErrorStream(true)
                    .start();
            u.getInputStream().readAllBytes();
            if (u.waitFor() == 0) {
                break;
            }
            Thread.sleep(100); // busy: a child process may still be closing its files
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            new ProcessBuilder("fusermount3", "-uz", mountPoint.toString()).start().waitFor();
        }
    }

    /** The backing folder (live view), for diagnostics. */
    public Path backing() {
        return state.resolve("root");
    }
}
