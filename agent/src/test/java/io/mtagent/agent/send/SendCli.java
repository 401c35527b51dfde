package io.mtagent.agent.send;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.MtAgentCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs {@code mtagent send} and the recovery commands in-process against a test agent, capturing what they print.
 * The CLI writes to System.out/err, so a run swaps them for the duration of the call (tests run one at a time).
 */
final class SendCli {
    /** What a command returned and printed. */
    record Run(int exit, String out, String err) {
    }

    private final Agent agent;
    private final Path pass;
    private final Path config;

    SendCli(Agent agent, Path dir, Map<String, String> settings) throws Exception {
        this.agent = agent;
        this.pass = dir.resolve("pass.txt");
        Files.writeString(pass, TestAgents.PASSPHRASE + "\n");
        this.config = TestAgents.writeConfig(dir.resolve("mtagent.properties"), settings);
    }

    /** {@code mtagent send --agent ... --passphrase-file ... --fingerprint ... ARGS}. */
    Run send(String... args) {
        List<String> all = new ArrayList<>(List.of("send", "--agent", "127.0.0.1:" + agent.dataAddress().getPort(),
                "--passphrase-file", pass.toString(), "--fingerprint", agent.identity().fingerprintText()));
        all.addAll(List.of(args));
        return run(all);
    }

    /** A control command ({@code points}, {@code recover}, {@code export}) through the agent's control API. */
    Run control(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--config", config.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()));
        return run(all);
    }

    private static synchronized Run run(List<String> args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            code = MtAgentCli.execute(args.toArray(String[]::new));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        Run r = new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        out.print(r.out());
        err.print(r.err());
        return r;
    }
}
