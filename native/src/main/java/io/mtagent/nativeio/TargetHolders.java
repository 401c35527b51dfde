package io.mtagent.nativeio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Who holds a target, for the message of a {@link TargetLockedException}: the {@code flock} holders of a file from
 * {@code /proc/locks} (line format {@code N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF}, major and minor in
 * hex), the mount points of a block device from {@code /proc/self/mountinfo}, and processes that have the path
 * open from {@code /proc/PID/fd}. Best effort, only on the error path: whatever cannot be read is left out.
 */
final class TargetHolders {
    private static final Path PROC = Path.of("/proc");

    private TargetHolders() {
    }

    /** The processes holding a {@code flock} on {@code file}, e.g. {@code pid 1234 (java -cp ... run)}. */
    static String ofLockedFile(Path file) {
        try {
            long inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
            long dev = ((Number) Files.getAttribute(file, "unix:dev")).longValue();
            String device = String.format(Locale.ROOT, "%02x:%02x:%d", major(dev), minor(dev), inode);
            List<String> holders = new ArrayList<>();
            for (String line : Files.readAllLines(PROC.resolve("locks"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 6 && f[1].equals("FLOCK") && f[5].equals(device)) {
                    holders.add(describe(f[4]));
                }
            }
            return String.join(", ", holders);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** The mount points of the block device {@code device} and the processes that have it open. */
    static String ofBusyDevice(Path device) {
        List<String> holders = new ArrayList<>();
        try {
            long rdev = ((Number) Files.getAttribute(device, "unix:rdev")).longValue();
            String majorMinor = major(rdev) + ":" + minor(rdev);
            for (String line : Files.readAllLines(PROC.resolve("self").resolve("mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[2].equals(majorMinor)) {
                    holders.add("mounted at " + f[4]);
                }
            }
            Path real = device.toRealPath();
            try (DirectoryStream<Path> pids = Files.newDirectoryStream(PROC, "[0-9]*")) {
                for (Path pid : pids) {
                    if (holdsOpen(pid, real)) {
                        holders.add(describe(pid.getFileName().toString()));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort
        }
        return String.join(", ", holders);
    }

    private static boolean holdsOpen(Path pid, Path real) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(pid.resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).equals(real)) {
                        return true;
                    }
                } catch (IOException | RuntimeException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            // not ours to read, or gone
        }
        return false;
    }

    /** {@code pid N (command line)}, the command line cut to 160 characters. */
    static String describe(String pid) {
        try {
            byte[] raw = Files.readAllBytes(PROC.resolve(pid).resolve("cmdline"));
            String cmd = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim();
            return "pid " + pid + (cmd.isEmpty() ? "" : " (" + (cmd.length() > 160 ? cmd.substring(0, 157) + "..."
                    : cmd) + ")");
        } catch (IOException | RuntimeException e) {
            return "pid " + pid;
        }
    }

    /** glibc's gnu_dev_major/minor. */
    private static long major(long dev) {
        return ((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL);
    }

    private static long minor(long dev) {
        return ((dev >>> 12) & 0xffffff00L) | (dev & 0xffL);
    }
}
