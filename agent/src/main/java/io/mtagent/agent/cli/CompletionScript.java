package io.mtagent.agent.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * Generates the bash/zsh completion script of {@code mtagent} with picocli's {@link AutoComplete} at build time
 * (the dist module runs {@code main(outputFile)}; the archive ships it as {@code completion/mtagent}), so it knows
 * every command and option the jar has. Install: {@code source completion/mtagent}, or copy it to
 * {@code /etc/bash_completion.d/mtagent}.
 */
public final class CompletionScript {
    private CompletionScript() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(out.getParent());
        String script = AutoComplete.bash("mtagent", new CommandLine(new MtAgentCli()));
        Files.writeString(out, script, StandardCharsets.UTF_8);
    }
}
