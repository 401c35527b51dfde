package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** 'mtagent service' through the real command line: help, a dry run, a clear refusal of an unknown action. */
class ServiceCommandTest {
    private static String run(int expectedExit, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
        System.setOut(capture);
        System.setErr(capture);
        try {
            assertThat(MtAgentCli.execute(args)).as(buf.toString(StandardCharsets.UTF_8)).isEqualTo(expectedExit);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpDryRunAndUnknownAction() {
        assertThat(run(0, "service", "--help")).contains("install", "uninstall", "--dry-run", "Windows");
        assertThat(run(0, "service", "status", "--dry-run")).contains("dry run", "systemctl status");
        assertThat(run(2, "service", "frobnicate")).contains("unknown action 'frobnicate'");
    }
}
