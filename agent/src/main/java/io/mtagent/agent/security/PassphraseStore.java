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
 * The agent's verifier of the passphrase the process servers know (docs/ARCHITECTURE.md, "Write path" step 1; SPEC.md §4.3). The
 * passphrase itself is never stored, nor anything that can log in: {@code auth.key} in the state directory holds a
 * per-agent random salt, the PBKDF2 iteration count and SCRAM-SHA-256's StoredKey and ServerKey, derived from
 * {@code SaltedPassword = HandshakeCrypto.deriveKey(passphrase, salt, iterations)}. StoredKey checks a client
 * proof; making one needs ClientKey, of which StoredKey is the SHA-256, so a reader of the file cannot use it to
 * log in. ServerKey lets the agent prove itself back.
 *
 * <p>File format (UTF-8 text, mode 0600, written atomically):
 * <pre>
 *   mtagent-auth-key v2
 *   salt=&lt;32 lower-case hex digits: 16 random bytes&gt;
 *   iterations=&lt;decimal, within HandshakeCrypto's MIN_ITERATIONS..MAX_ITERATIONS&gt;
 *   stored-key=&lt;64 lower-case hex digits: StoredKey, 32 bytes&gt;
 *   server-key=&lt;64 lower-case hex digits: ServerKey, 32 bytes&gt;
 * </pre>
 * The version line comes first; the four entries follow in this order, each exactly once, and nothing else. The
 * file stays 0600: ServerKey would let its reader impersonate the agent to a process server, and both keys allow an
 * offline dictionary attack on the passphrase at the PBKDF2 cost.
 *
 * <p><b>Migration.</b> Version 1 of the file ({@code mtagent-auth-key v1}, entries {@code salt}, {@code iterations},
 * {@code key}) held SaltedPassword itself, which could complete a handshake. {@link #load} rewrites such a file as
 * version 2 at once (same salt and iterations, so process servers keep their passphrase) and logs that it did.
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

    private static final String VERSION_LINE = "mtagent-auth-key v2";
    private static final List<String> ENTRIES = List.of("salt", "iterations", "stored-key", "server-key");
    private static final String LEGACY_VERSION_LINE = "mtagent-auth-key v1";
    private static final List<String> LEGACY_ENTRIES = List.of("salt", "iterations", "key");
    private static final HexFormat HEX = HexFormat.of();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final System.Logger LOG = System.getLogger(PassphraseStore.class.getName());

    private final Path file;
    private final byte[] salt;
    private final int iterations;
    private final byte[] storedKey;
    private final byte[] serverKey;

    private PassphraseStore(Path file, byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
        this.file = file;
        this.salt = salt;
        this.iterations = iterations;
        this.storedKey = storedKey;
        this.serverKey = serverKey;
    }

    /**
     * Reads {@code auth.key} from the state directory.
     *
     * @return empty if no passphrase has been set yet (the agent must then refuse every process server and say
     *         "no passphrase set: run 'mtagent passphrase set'")
     * @throws IllegalStateException if the file is damaged, naming it and the way out
     * @throws UncheckedIOException  if it cannot be read, or a version-1 file cannot be rewritten
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
        if (text.startsWith(LEGACY_VERSION_LINE + "\n")) {
            return Optional.of(migrate(file, text));
        }
        return Optional.of(parse(file, text));
    }

    /** Rewrites a version-1 file (which held SaltedPassword) as version 2; see the class comment. */
    private static PassphraseStore migrate(Path file, String text) {
        Map<String, String> entries = entries(file, text, LEGACY_VERSION_LINE, LEGACY_ENTRIES);
        byte[] saltedPassword = null;
        try {
            byte[] salt = HEX.parseHex(entries.get("salt"));
            int iterations = Integer.parseInt(entries.get("iterations"));
            saltedPassword = HEX.parseHex(entries.get("key"));
            if (salt.length != SALT_LENGTH || saltedPassword.length != HandshakeCrypto.KEY_LENGTH
                    || iterations < HandshakeCrypto.MIN_ITERATIONS || iterations > HandshakeCrypto.MAX_ITERATIONS) {
                throw damaged(file, "a salt, iteration count or key is out of range");
            }
            PassphraseStore store = write(file, salt, iterations, saltedPassword);
            LOG.log(System.Logger.Level.WARNING, "{0} held a version-1 verifier (a key that could log in by itself);"
                    + " rewrote it as version 2 (SCRAM-SHA-256 StoredKey/ServerKey, which cannot). Process servers keep"
                    + " their passphrase but need the handshake of SPEC.md revision 3", file);
            return store;
        } catch (IllegalArgumentException e) { // NumberFormatException and bad hex included
            throw damaged(file, "a value is not well-formed (" + e.getClass().getSimpleName() + ")");
        } finally {
            if (saltedPassword != null) {
                Arrays.fill(saltedPassword, (byte) 0);
            }
        }
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
            byte[] saltedPassword = HandshakeCrypto.deriveKey(passphrase, salt, iterations);
            try {
                Files.createDirectories(stateDir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the state directory " + stateDir, e);
            }
            try {
                return write(stateDir.resolve(FILE), salt, iterations, saltedPassword);
            } finally {
                Arrays.fill(saltedPassword, (byte) 0);
            }
        } finally {
            Arrays.fill(passphrase, '\0');
        }
    }

    /** Writes the version-2 verifier of {@code saltedPassword} atomically, mode 0600. */
    private static PassphraseStore write(Path file, byte[] salt, int iterations, byte[] saltedPassword) {
        byte[] storedKey = HandshakeCrypto.storedKey(saltedPassword);
        byte[] serverKey = HandshakeCrypto.serverKey(saltedPassword);
        byte[] content = format(salt, iterations, storedKey, serverKey).getBytes(StandardCharsets.UTF_8);
        try {
            SecureFiles.writeAtomically(file, content, SecureFiles.OWNER_ONLY);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the passphrase verifier " + file, e);
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        return new PassphraseStore(file, salt, iterations, storedKey, serverKey);
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

    /** StoredKey, a copy (SPEC.md §4.3). It checks proofs and cannot make one. */
    public byte[] storedKey() {
        return storedKey.clone();
    }

    /**
     * Whether {@code proof} is the client proof for these nonces and the agent's <em>own</em> certificate
     * fingerprint; compared in constant time so the response time does not leak how many bytes matched.
     */
    public boolean verifyClientProof(byte[] clientNonce, byte[] serverNonce, byte[] ownFingerprint, byte[] proof) {
        Objects.requireNonNull(proof, "proof");
        return HandshakeCrypto.verifyClientProof(storedKey, clientNonce, serverNonce, ownFingerprint, proof);
    }

    /** The agent's answer proving it knows ServerKey, over the same nonces and its own fingerprint. */
    public byte[] serverProof(byte[] clientNonce, byte[] serverNonce, byte[] ownFingerprint) {
        return HandshakeCrypto.serverSignature(serverKey, clientNonce, serverNonce, ownFingerprint);
    }

    /** Names the file and the iteration count; never the key. */
    @Override
    public String toString() {
        return "PassphraseStore[" + file + ", iterations=" + iterations + "]";
    }

    private static String format(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
        return VERSION_LINE + "\n"
                + "salt=" + HEX.formatHex(salt) + "\n"
                + "iterations=" + iterations + "\n"
                + "stored-key=" + HEX.formatHex(storedKey) + "\n"
                + "server-key=" + HEX.formatHex(serverKey) + "\n";
    }

    private static Map<String, String> entries(Path file, String text, String versionLine, List<String> expected) {
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals(versionLine)) {
            throw damaged(file, "the first line is not '" + versionLine + "'");
        }
        Map<String, String> entries = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            int eq = line.indexOf('=');
            if (eq < 0 || entries.putIfAbsent(line.substring(0, eq), line.substring(eq + 1)) != null) {
                throw damaged(file, "a line is not one 'name=value' entry");
            }
        }
        if (!List.copyOf(entries.keySet()).equals(expected)) {
            throw damaged(file, "expected the entries " + expected + ", found " + entries.keySet());
        }
        return entries;
    }

    private static PassphraseStore parse(Path file, String text) {
        Map<String, String> entries = entries(file, text, VERSION_LINE, ENTRIES);
        try {
            byte[] salt = HEX.parseHex(entries.get("salt"));
            int iterations = Integer.parseInt(entries.get("iterations"));
            byte[] storedKey = HEX.parseHex(entries.get("stored-key"));
            byte[] serverKey = HEX.parseHex(entries.get("server-key"));
            if (salt.length != SALT_LENGTH || storedKey.length != HandshakeCrypto.KEY_LENGTH
                    || serverKey.length != HandshakeCrypto.KEY_LENGTH
                    || iterations < HandshakeCrypto.MIN_ITERATIONS || iterations > HandshakeCrypto.MAX_ITERATIONS) {
                throw damaged(file, "a salt, iteration count or key is out of range");
            }
            return new PassphraseStore(file, salt, iterations, storedKey, serverKey);
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
