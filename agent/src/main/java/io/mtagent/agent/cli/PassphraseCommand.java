package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent passphrase set}: store the verifier of the process servers' passphrase. */
@Command(name = "passphrase", mixinStandardHelpOptions = true,
        description = "Manage the passphrase process servers prove they know (it is never stored in clear).",
        subcommands = PassphraseCommand.Set.class)
final class PassphraseCommand {

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Set the passphrase: prompts twice without echo, or reads the first line of --from-file",
                "or of standard input (--stdin). Only a salted PBKDF2 key is stored (state dir, auth.key, 0600).",
                "Restart the agent afterwards; connected process servers must use the new passphrase."})
    static final class Set implements Callable<Integer> {
        @Mixin
        ConfigOptions configOptions;

        @Option(names = "--from-file", paramLabel = "FILE", description = "Read the passphrase from this file's first line.")
        Path fromFile;

        @Option(names = "--stdin", description = "Read the passphrase from standard input's first line.")
        boolean stdin;

        @Override
        public Integer call() throws Exception {
            AgentConfig config = configOptions.load();
            Files.createDirectories(config.stateDir());
            if (fromFile != null) {
                PassphraseStore.setFromFile(config.stateDir(), fromFile, config.authIterations());
            } else {
                char[] pass = stdin ? readStdin() : prompt();
                if (pass == null) {
                    return 2;
                }
                PassphraseStore.set(config.stateDir(), pass, config.authIterations());
            }
            System.out.println("passphrase verifier stored in " + config.stateDir().resolve(PassphraseStore.FILE));
            return 0;
        }

        private static char[] readStdin() throws IOException {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            return line == null ? new char[0] : line.toCharArray();
        }

        private static char[] prompt() {
            Console console = System.console();
            if (console == null) {
                System.err.println("mtagent: no terminal to prompt on; use --stdin or --from-file");
                return null;
            }
            char[] a = console.readPassword("New passphrase (at least %d characters): ", PassphraseStore.MIN_PASSPHRASE_LENGTH);
            char[] b = console.readPassword("Repeat it: ");
            if (a == null || b == null || !Arrays.equals(a, b)) {
                System.err.println("mtagent: the two entries differ; nothing changed");
                return null;
            }
            Arrays.fill(b, '\0');
            return a;
        }
    }
}
