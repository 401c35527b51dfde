package io.mtagent.agent.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time and peak resident memory of a process, read from Linux's {@code /proc/<pid>/stat} (utime + stime, in
 * clock ticks) and {@code /proc/<pid>/status} ({@code VmHWM}, the peak RSS since the process started). Linux
 * only; elsewhere {@link #available()} is false and the figures are reported as unknown. Immutable.
 */
public final class ProcStats {
    /** Linux has used 100 ticks per second on every mainstream architecture for decades (USER_HZ). */
    private static final double TICKS_PER_SECOND = 100.0;
    private final long pid;

    public ProcStats(long pid) {
        this.pid = pid;
    }

    public long pid() {
        return pid;
    }

    public boolean available() {
        return Files.isReadable(Path.of("/proc", Long.toString(pid), "stat"));
    }

    /** User + system CPU seconds the process has used so far. */
    public double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        long utime = Long.parseLong(f[11]); // field 14 of the whole line
        long stime = Long.parseLong(f[12]); // field 15
        return (utime + stime) / TICKS_PER_SECOND;
    }

    /** Peak resident set size in bytes (VmHWM), or -1 when the kernel does not report it. */
    public long peakRssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
            }
        }
        return -1;
    }
}
