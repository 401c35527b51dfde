package io.mtagent.agent.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The bearer token of the control API: 32 random bytes, base64url without padding (43 characters), in a file
 * readable by its owner only (0600, written atomically through {@link SecureFiles}). Generated at first start;
 * the CLI on the same host reads the same file.
 *
 * <p>Immutable and thread-safe. {@link #matches} compares in constant time.
 */
public final class ControlToken {
    /** Longest header value looked at: far above a real token, so a huge header costs nothing. */
    private static final int MAX_PRESENTED = 256;
    private static final System.Logger LOG = System.getLogger(ControlToken.class.getName());
    private final byte[] token;

    private ControlToken(byte[] token) {
        this.token = token;
    }

    /** Reads the token from {@code file}, generating it (mode 0600) if the file does not exist. */
    public static ControlToken loadOrCreate(Path file) {
        try {
            if (Files.exists(file)) {
                SecureFiles.restrictToOwner(file, LOG);
                return read(file);
            }
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String text = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            SecureFiles.writeAtomically(file, (text + "\n").getBytes(StandardCharsets.US_ASCII), SecureFiles.OWNER_ONLY);
            LOG.log(System.Logger.Level.INFO, "generated the control API token in {0} (mode 0600)", file);
            return new ControlToken(text.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the control API token " + file
                    + " (check that the directory exists and is writable by the agent's user)", e);
        }
    }

    /** Reads an existing token file (the CLI side). */
    public static ControlToken read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        if (text.isEmpty() || text.length() > MAX_PRESENTED) {
            throw new IOException("the control token file " + file + " is empty or damaged; delete it and restart"
                    + " the agent to generate a new one");
        }
        return new ControlToken(text.getBytes(StandardCharsets.US_ASCII));
    }

    /** The token text (for the CLI's Authorization header; never log it). */
    public String text() {
        return new String(token, StandardCharsets.US_ASCII);
    }

    /**
     * True if {@code authorization} is {@code Bearer <token>}; constant time in the token's content (the length
     * of an over-long header is not secret).
     */
    public boolean matches(String authorization) {
        if (authorization == null || authorization.length() > MAX_PRESENTED
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] presented = authorization.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(presented, token);
    }

    @Override
    public String toString() {
        return "ControlToken[hidden]";
    }
}
