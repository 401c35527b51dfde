package io.mtagent.agent.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;

/**
 * A CLI run in-process with its standard output and error captured, as an operator's terminal would show them.
 * The commands print to {@code System.out}/{@code System.err}, so this swaps them for the run (tests using it must
 * not run in parallel with each other in one JVM; JUnit runs the classes of this module one at a time).
 */
public record Captured(int code, String out, String err) {

    public static synchronized Captured run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            int code = MtAgentCli.execute(args);
            return new Captured(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            LogSetup.install(Level.INFO); // re-bind the log handler to the real stderr
        }
    }
}
