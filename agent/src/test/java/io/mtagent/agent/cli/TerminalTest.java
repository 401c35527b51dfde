package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.recovery.ProgressBar;
import io.mtagent.agent.recovery.ProgressListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI on a terminal: run under a real pseudo-terminal of 80 columns (python3's pty module), the progress line
 * is redrawn in place (carriage return, at most 79 characters, erase to the end of the line) and never scrolls;
 * the progress bar leaves no debris of a longer line; help fits 80 columns.
 */
class TerminalTest {
    private static final String ERASE = "\u001b[K";

    @TempDir
    Path dir;

    @Test
    void theDemoProgressLineRedrawsInPlaceOnAn80ColumnTerminal() throws Exception {
        Path script = Path.of("src/test/resources/pty-run.py").toAbsolutePath();
        boolean python = new ProcessBuilder("python3", "--version").start().waitFor() == 0;
        if (!python) {
            System.err.println("SKIPPED TerminalTest: python3 is missing (its pty module runs the CLI on a terminal)");
        }
        Assumptions.assumeTrue(python, "python3 is missing");
        Path recorded = dir.resolve("tty.bin");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString(), "80", recorded.toString(), java,
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "io.mtagent.agent.cli.MtAgentCli", "demo", "--seconds", "3", "--disks", "1", "--disk-mib", "4",
                "--dir", dir.resolve("demo").toString()).redirectErrorStream(true);
        pb.environment().remove("COLUMNS"); // the width comes from the default for a terminal: 80
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String tty = Files.readString(recorded, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(tty).isZero();

        // Every redraw: carriage return, the line, erase to the end of the line.
        Matcher m = Pattern.compile("\r(demo: \\[[^\r\n]*?)" + Pattern.quote(ERASE)).matcher(tty);
        List<String> redraws = new ArrayList<>();
        int first = -1;
        int last = -1;
        while (m.find()) {
            redraws.add(m.group(1));
            first = first < 0 ? m.start() : first;
            last = m.end();
        }
        assertThat(redraws).as(tty).hasSizeGreaterThanOrEqualTo(3);
        assertThat(redraws).allSatisfy(r -> assertThat(r.length()).as(r).isLessThanOrEqualTo(79));
        assertThat(tty.substring(first, last)).as("no line feed between the redraws: the line never scrolls")
                .doesNotContain("\n");
        assertThat(tty.substring(last)).startsWith("\r\n"); // the finished line ends once (the tty adds the \r)
    }

    @Test
    void theProgressBarFitsTheWidthAndLeavesNoDebris() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ProgressBar bar = new ProgressBar(out, "export a-disk-with-a-rather-long-name-6000c29a1b2c3d4e5f60718293a4b5c6",
                true, Duration.ofSeconds(5));
        bar.progress(new ProgressListener.Progress(1L << 30, 4L << 30, 512e6, Duration.ofHours(2), false));
        bar.progress(new ProgressListener.Progress(4L << 30, 4L << 30, 512e6, null, true));
        String s = bytes.toString(StandardCharsets.UTF_8);
        String[] draws = s.split("\r");
        assertThat(draws).hasSize(3); // "", the running line, the final line
        for (String d : List.of(draws[1], draws[2])) {
            String visible = d.substring(0, d.indexOf(ERASE));
            assertThat(visible.length()).as(visible).isLessThanOrEqualTo(79);
        }
        assertThat(draws[1]).contains("25%", "1.0 GiB/4.0 GiB", "ETA 2:00:00").endsWith(ERASE);
        assertThat(draws[2]).contains("100%", "4.0 GiB/4.0 GiB", "done").endsWith(ERASE + System.lineSeparator());

        // A step without a byte count (a phase) shows no empty bar and no "0 B/0 B".
        bytes.reset();
        ProgressBar phase = new ProgressBar(out, "disk-0: back to latest", true, Duration.ofSeconds(5));
        phase.progress(new ProgressListener.Progress(0, 0, 0, null, false));
        phase.progress(new ProgressListener.Progress(0, 0, 0, null, true));
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("\rdisk-0: back to latest working" + ERASE
                + "\rdisk-0: back to latest done" + ERASE + System.lineSeparator());
    }
}
