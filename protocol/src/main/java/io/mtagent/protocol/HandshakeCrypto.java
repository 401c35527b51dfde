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
 * The cryptography of the 9443 handshake (SPEC.md §4.3), shared by the agent and {@code ReplicationClient}: the
 * key scheme of SCRAM-SHA-256 (RFC 5802 / RFC 7677) with the agent's certificate fingerprint as channel binding.
 *
 * <pre>
 *   SaltedPassword  = PBKDF2-HMAC-SHA256(passphrase (UTF-8), salt, iterations, 32 bytes)
 *   ClientKey       = HMAC-SHA256(SaltedPassword, "Client Key")
 *   StoredKey       = SHA-256(ClientKey)
 *   ServerKey       = HMAC-SHA256(SaltedPassword, "Server Key")
 *   AuthMessage     = "mtagent-auth-v2" || clientNonce || serverNonce || fingerprint
 *   clientProof     = ClientKey XOR HMAC-SHA256(StoredKey, AuthMessage)
 *   serverProof     = HMAC-SHA256(ServerKey, AuthMessage)
 * </pre>
 * {@code fingerprint} is the SHA-256 of the DER encoding of the agent's TLS certificate <em>as the client
 * saw it</em>. The agent computes the expected values with its own certificate, so a relaying proxy that
 * presents its own certificate yields a proof the agent refuses. The passphrase never crosses the wire.
 *
 * <p>The agent stores only salt, iterations, StoredKey and ServerKey. It checks a proof by recovering
 * {@code ClientKey' = clientProof XOR HMAC(StoredKey, AuthMessage)} and comparing {@code SHA-256(ClientKey')} with
 * StoredKey: someone who reads the stored verifier still needs ClientKey, a SHA-256 preimage of StoredKey, to make
 * a proof, so the file cannot be used to log in.
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

    private static final byte[] AUTH_LABEL = "mtagent-auth-v2".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLIENT_KEY_LABEL = "Client Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_KEY_LABEL = "Server Key".getBytes(StandardCharsets.US_ASCII);

    private HandshakeCrypto() {
    }

    /** Derives SaltedPassword from the passphrase; slow on purpose (PBKDF2). */
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

    /** {@code ClientKey = HMAC(SaltedPassword, "Client Key")}. */
    public static byte[] clientKey(byte[] saltedPassword) {
        return hmac(saltedPassword, CLIENT_KEY_LABEL);
    }

    /** {@code StoredKey = SHA-256(ClientKey)}: what the agent stores to check client proofs. */
    public static byte[] storedKey(byte[] saltedPassword) {
        return sha256(clientKey(saltedPassword));
    }

    /** {@code ServerKey = HMAC(SaltedPassword, "Server Key")}: what the agent stores to prove itself. */
    public static byte[] serverKey(byte[] saltedPassword) {
        return hmac(saltedPassword, SERVER_KEY_LABEL);
    }

    /** C's proof: {@code ClientKey XOR HMAC(StoredKey, AuthMessage)}. */
    public static byte[] clientProof(byte[] saltedPassword, byte[] clientNonce, byte[] serverNonce,
                                     byte[] fingerprint) {
        byte[] clientKey = clientKey(saltedPassword);
        byte[] signature = hmac(sha256(clientKey), AUTH_LABEL, clientNonce, serverNonce, fingerprint);
        for (int i = 0; i < signature.length; i++) {
            signature[i] ^= clientKey[i];
        }
        return signature;
    }

    /** A's proof, computed by C from the passphrase to check it. */
    public static byte[] serverProof(byte[] saltedPassword, byte[] clientNonce, byte[] serverNonce,
                                     byte[] fingerprint) {
        return serverSignature(serverKey(saltedPassword), clientNonce, serverNonce, fingerprint);
    }

    /** A's proof from its stored ServerKey: {@code HMAC(ServerKey, AuthMessage)}. */
    public static byte[] serverSignature(byte[] serverKey, byte[] clientNonce, byte[] serverNonce,
                                         byte[] fingerprint) {
        return hmac(serverKey, AUTH_LABEL, clientNonce, serverNonce, fingerprint);
    }

    /**
     * A's check of a client proof with its stored StoredKey: recovers ClientKey and compares its SHA-256 with
     * StoredKey in constant time.
     */
    public static boolean verifyClientProof(byte[] storedKey, byte[] clientNonce, byte[] serverNonce,
                                            byte[] fingerprint, byte[] proof) {
        if (proof.length != PROOF_LENGTH) {
            return false;
        }
        byte[] clientKey = hmac(storedKey, AUTH_LABEL, clientNonce, serverNonce, fingerprint);
        for (int i = 0; i < clientKey.length; i++) {
            clientKey[i] ^= proof[i];
        }
        return constantTimeEquals(sha256(clientKey), storedKey);
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

    private static byte[] hmac(byte[] key, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            for (byte[] part : parts) {
                mac.update(part);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }
}
