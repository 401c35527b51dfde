package io.mtagent.agent.security;

import io.mtagent.protocol.HandshakeCrypto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The agent's verifier of the passphrase the process servers know (DESIGN.md, Write path §1). The passphrase itself
 * is never stored: {@code auth.key} in the state directory holds a per-agent random salt, the PBKDF2 iteration
 * count and the derived key {@code K = HandshakeCrypto.deriveKey(passphrase, salt, iterations)}, which is all the
 * agent needs to check a client proof and to prove itself back.
 *
 * <p>File format (UTF-8 text, mode 0600, written atomically):
 * <pre>
 *   mtagent-auth-key v1
 *   salt=&lt;32 lower-case hex digits: 16 random bytes&gt;
 *   iterations=&lt;decimal, within HandshakeCrypto's MIN_ITERATIONS..MAX_ITERATIONS&gt;
 *   key=&lt;64 lower-case hex digits: K, 32 bytes&gt;
 * </pre>
 * The version line comes first; the three entries follow in this order, each exactly once, and nothing else. K is
 * as good as the passphrase to anyone who reads it (it answers the challenge), hence the 0600 permission; it does
 * not reveal the passphrase itself, so the passphrase used elsewhere stays safe.
 *
 * <p><b>Durability:</b> {@link #set} returns after the file and its rename are fsynced; a crash leaves the old or the
 * new verifier, never a mix.
 *
 * <p>Instances are immutable and thread-safe; the file is written only by {@link #set} (one writer at a time: the
 * {@code mtagent passphrase set} command or the agent's first start).
 */
public final class PassphraseStore {
    public static final String FILE = "auth.key";
    /** Twelve characters: a passphrase is the only secret guarding the 9443 port, and it is typed rarely. */
    public static final int MIN_PASSPHRASE_LENGTH = 12;
    public static final int SALT_LENGTH = 16;

    private static final String VERSION_LINE = "mtagent-auth-key v1";
    private static final List<String> ENTRIES = List.of("salt", "iterations", "key");
    private static final HexFormat HEX = HexFormat.of();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final System.Logger LOG = System.getLogger(PassphraseStore.class.getName());

    private final Path file;
    private final byte[] salt;
    private final int iterations;
    private final byte[] key;

    private PassphraseStore(Path file, byte[] salt, int iterations, byte[] key) {
        this.file = file;
        this.salt = salt;
        this.iterations = iterations;
        this.key = key;
    }

    /**
     * Reads {@code auth.key} from the state directory.
     *
     * @return empty if no passphrase has been set yet (the agent must then refuse every process server and say
     *         "no passphrase set: run 'mtagent passphrase set'")
     * @throws IllegalStateException if the file is damaged, naming it and the way out
     * @throws UncheckedIOException  if it cannot be read
     */
    public static Optional<PassphraseStore> load(Path stateDir) {
        Path file = stateDir.resolve(FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the passphrase verifier " + file, e);
        }
        SecureFiles.restrictToOwner(file, LOG);
        return Optional.of(parse(file, text));
    }

    /**
     * Sets (or replaces) the passphrase: draws a new random salt, derives K and writes {@code auth.key} atomically
     * with mode 0600. The {@code passphrase} array is zeroed before this method returns, also when it refuses it.
     *
     * @param iterations the PBKDF2 iteration count ({@code auth.iterations}); within HandshakeCrypto's bounds
     * @throws IllegalArgumentException if the passphrase is shorter than {@link #MIN_PASSPHRASE_LENGTH} characters
     *                                  or the iteration count is out of bounds
     */
    public static PassphraseStore set(Path stateDir, char[] passphrase, int iterations) {
        Objects.requireNonNull(passphrase, "passphrase");
        try {
            if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
                throw new IllegalArgumentException("the passphrase has " + passphrase.length + " characters; at least "
                        + MIN_PASSPHRASE_LENGTH + " are required, because it is the only secret that keeps others from"
                        + " writing to the target disks, and anyone who can watch one handshake can guess short ones"
                        + " offline");
            }
            if (iterations < HandshakeCrypto.MIN_ITERATIONS || iterations > HandshakeCrypto.MAX_ITERATIONS) {
                throw new IllegalArgumentException("auth.iterations " + iterations + " is outside "
                        + HandshakeCrypto.MIN_ITERATIONS + ".." + HandshakeCrypto.MAX_ITERATIONS
                        + " (the range process servers accept)");
            }
            byte[] salt = new byte[SALT_LENGTH];
            RANDOM.nextBytes(salt);
            byte[] key = HandshakeCrypto.deriveKey(passphrase, salt, iterations);
            Path file = stateDir.resolve(FILE);
            byte[] content = format(salt, iterations, key).getBytes(StandardCharsets.UTF_8);
            try {
                Files.createDirectories(stateDir);
                SecureFiles.writeAtomically(file, content, SecureFiles.OWNER_ONLY);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the passphrase verifier " + file, e);
            } finally {
                Arrays.fill(content, (byte) 0);
            }
            return new PassphraseStore(file, salt, iterations, key);
        } finally {
            Arrays.fill(passphrase, '\0');
        }
    }

    /**
     * Sets the passphrase from the first line of {@code passphraseFile} ({@code auth.passphrase.file}, read once on
     * the agent's first start). The line is decoded as UTF-8 without going through a {@code String}, and the
     * buffers holding it are zeroed afterwards.
     */
    public static PassphraseStore setFromFile(Path stateDir, Path passphraseFile, int iterations) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(passphraseFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the passphrase file " + passphraseFile
                    + " (auth.passphrase.file)", e);
        }
        CharBuffer chars = null;
        try {
            chars = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            int end = 0;
            while (end < chars.limit() && chars.get(end) != '\n' && chars.get(end) != '\r') {
                end++;
            }
            char[] firstLine = new char[end];
            chars.get(firstLine);
            try {
                return set(stateDir, firstLine, iterations);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(passphraseFile + " (auth.passphrase.file): " + e.getMessage(), e);
            }
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the passphrase file " + passphraseFile + " is not UTF-8 text", e);
        } finally {
            Arrays.fill(bytes, (byte) 0);
            if (chars != null && chars.hasArray()) {
                Arrays.fill(chars.array(), '\0');
            }
        }
    }

    /** The per-agent salt sent in the CHALLENGE; a copy. */
    public byte[] salt() {
        return salt.clone();
    }

    /** The PBKDF2 iteration count sent in the CHALLENGE. */
    public int iterations() {
        return iterations;
    }

    /** K, a copy. Treat it like the passphrase. */
    public byte[] key() {
        return key.clone();
    }

    /**
     * Whether {@code proof} is the client proof for these nonces and the agent's <em>own</em> certificate
     * fingerprint; compared in constant time so the response time does not leak how many bytes matched.
     */
    public boolean verifyClientProof(byte[] clientNonce, byte[] serverNonce, byte[] ownFingerprint, byte[] proof) {
        Objects.requireNonNull(proof, "proof");
        byte[] expected = HandshakeCrypto.clientProof(key, clientNonce, serverNonce, ownFingerprint);
        return HandshakeCrypto.constantTimeEquals(expected, proof);
    }

    /** The agent's answer proving it knows K too, over the same nonces and its own fingerprint. */
    public byte[] serverProof(byte[] clientNonce, byte[] serverNonce, byte[] ownFingerprint) {
        return HandshakeCrypto.serverProof(key, clientNonce, serverNonce, ownFingerprint);
    }

    /** Names the file and the iteration count; never the key. */
    @Override
    public String toString() {
        return "PassphraseStore[" + file + ", iterations=" + iterations + "]";
    }

    private static String format(byte[] salt, int iterations, byte[] key) {
        return VERSION_LINE + "\n"
                + "salt=" + HEX.formatHex(salt) + "\n"
                + "iterations=" + iterations + "\n"
                + "key=" + HEX.formatHex(key) + "\n";
    }

    private static PassphraseStore parse(Path file, String text) {
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals(VERSION_LINE)) {
            throw damaged(file, "the first line is not '" + VERSION_LINE + "'");
        }
        Map<String, String> entries = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            int eq = line.indexOf('=');
            if (eq < 0 || entries.putIfAbsent(line.substring(0, eq), line.substring(eq + 1)) != null) {
                throw damaged(file, "a line is not one 'name=value' entry");
            }
        }
        if (!List.copyOf(entries.keySet()).equals(ENTRIES)) {
            throw damaged(file, "expected the entries " + ENTRIES + ", found " + entries.keySet());
        }
        try {
            byte[] salt = HEX.parseHex(entries.get("salt"));
            int iterations = Integer.parseInt(entries.get("iterations"));
            byte[] key = HEX.parseHex(entries.get("key"));
            if (salt.length != SALT_LENGTH || key.length != HandshakeCrypto.KEY_LENGTH
                    || iterations < HandshakeCrypto.MIN_ITERATIONS || iterations > HandshakeCrypto.MAX_ITERATIONS) {
                throw damaged(file, "a salt, iteration count or key is out of range");
            }
            return new PassphraseStore(file, salt, iterations, key);
        } catch (IllegalArgumentException e) { // NumberFormatException and bad hex included
            throw damaged(file, "a value is not well-formed (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** Deliberately without the offending text: it may be key material. */
    private static IllegalStateException damaged(Path file, String why) {
        return new IllegalStateException("the passphrase verifier " + file + " is damaged: " + why + ". Run 'mtagent"
                + " passphrase set' to write it again (process servers keep working if you set the same passphrase)");
    }
}
