package io.mtagent.protocol;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.spec.KeySpec;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cryptography of the 9443 handshake (SPEC.md §4), shared by the agent and {@code ReplicationClient}.
 *
 * <pre>
 *   K            = PBKDF2-HMAC-SHA256(passphrase (UTF-8), salt, iterations, 32 bytes)
 *   clientProof  = HMAC-SHA256(K, "mtagent-client-proof-v1" || clientNonce || serverNonce || fingerprint)
 *   serverProof  = HMAC-SHA256(K, "mtagent-server-proof-v1" || serverNonce || clientNonce || fingerprint)
 * </pre>
 * {@code fingerprint} is the SHA-256 of the DER encoding of the agent's TLS certificate <em>as the client
 * saw it</em>. The agent computes the expected proof with its own certificate, so a relaying proxy that
 * presents its own certificate yields a proof the agent refuses. The passphrase never crosses the wire;
 * the agent stores only the salt, the iteration count and K.
 *
 * <p>Stateless and thread-safe.
 */
public final class HandshakeCrypto {
    public static final int NONCE_LENGTH = 32;
    public static final int KEY_LENGTH = 32;
    public static final int PROOF_LENGTH = 32;
    public static final int FINGERPRINT_LENGTH = 32;
    /** Lower bound the client accepts from an agent, so a forged CHALLENGE cannot make the KDF trivial. */
    public static final int MIN_ITERATIONS = 10_000;
    /** Upper bound the client accepts, so a forged CHALLENGE cannot make it spin for minutes. */
    public static final int MAX_ITERATIONS = 10_000_000;
    public static final int DEFAULT_ITERATIONS = 210_000;

    private static final byte[] CLIENT_LABEL = "mtagent-client-proof-v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_LABEL = "mtagent-server-proof-v1".getBytes(StandardCharsets.US_ASCII);

    private HandshakeCrypto() {
    }

    /** Derives K from the passphrase; slow on purpose (PBKDF2). */
    public static byte[] deriveKey(char[] passphrase, byte[] salt, int iterations) {
        if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("PBKDF2 iterations " + iterations + " outside ["
                    + MIN_ITERATIONS + ", " + MAX_ITERATIONS + "]");
        }
        try {
            KeySpec spec = new PBEKeySpec(passphrase, salt, iterations, KEY_LENGTH * 8);
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable", e);
        }
    }

    public static byte[] clientProof(byte[] key, byte[] clientNonce, byte[] serverNonce, byte[] fingerprint) {
        return hmac(key, CLIENT_LABEL, clientNonce, serverNonce, fingerprint);
    }

    public static byte[] serverProof(byte[] key, byte[] clientNonce, byte[] serverNonce, byte[] fingerprint) {
        return hmac(key, SERVER_LABEL, serverNonce, clientNonce, fingerprint);
    }

    /** Constant-time comparison of two proofs or keys. */
    public static boolean constantTimeEquals(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    /** SHA-256 over a certificate's DER encoding. */
    public static byte[] fingerprint(byte[] certificateDer) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(certificateDer);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code AB:CD:...} upper-case hex, the form {@code mtagent cert} prints and operators pin. */
    public static String formatFingerprint(byte[] fingerprint) {
        StringBuilder sb = new StringBuilder(fingerprint.length * 3);
        for (int i = 0; i < fingerprint.length; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(String.format("%02X", fingerprint[i] & 0xff));
        }
        return sb.toString();
    }

    /** Parses the {@link #formatFingerprint} form (colons optional, case-insensitive). */
    public static byte[] parseFingerprint(String text) {
        String hex = text.replace(":", "").trim();
        if (hex.length() != FINGERPRINT_LENGTH * 2) {
            throw new IllegalArgumentException("a SHA-256 fingerprint has 64 hex digits, got " + hex.length());
        }
        byte[] out = new byte[FINGERPRINT_LENGTH];
        for (int i = 0; i < out.length; i++) {
            // Character.digit, not Integer.parseInt: parseInt accepts a sign, so "-1" or "+F" would pass.
            int hi = Character.digit(hex.charAt(2 * i), 16);
            int lo = Character.digit(hex.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a hex digit pair: '" + hex.substring(2 * i, 2 * i + 2) + "'");
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    private static byte[] hmac(byte[] key, byte[] label, byte[] first, byte[] second, byte[] fingerprint) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(label);
            mac.update(first);
            mac.update(second);
            mac.update(fingerprint);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
