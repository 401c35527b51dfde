package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.PassphraseStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The zero-setup default: when no passphrase is stored yet, generate a random one, keep it in
 * {@code state/passphrase.txt} (0600, so a local process-server simulator can read it) and store its verifier.
 * The passphrase itself is never logged.
 */
final class EmbeddedDefaults {
    static final String PASSPHRASE_FILE = "passphrase.txt";

    private EmbeddedDefaults() {
    }

    static Path ensurePassphrase(AgentConfig config) throws IOException {
        Path file = config.stateDir().resolve(PASSPHRASE_FILE);
        if (PassphraseStore.load(config.stateDir()).isPresent() && Files.exists(file)) {
            return file;
        }
        Files.createDirectories(config.stateDir());
        byte[] raw = new byte[18];
        new SecureRandom().nextBytes(raw);
        String passphrase = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, passphrase + "\n", StandardCharsets.UTF_8);
        PassphraseStore.set(config.stateDir(), passphrase.toCharArray(), config.authIterations());
        return file;
    }

    static char[] readPassphrase(Path file) throws IOException {
        return Files.readAllLines(file, StandardCharsets.UTF_8).get(0).trim().toCharArray();
    }
}
