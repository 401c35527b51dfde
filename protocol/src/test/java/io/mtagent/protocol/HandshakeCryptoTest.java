package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SPEC.md §4 cryptography. The known-answer values were computed once with an independent implementation
 * (Python's {@code hashlib.pbkdf2_hmac} and {@code hmac}) and pinned; they are also the values of the SPEC.md §11
 * worked example.
 */
class HandshakeCryptoTest {
    static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();
    static final byte[] SALT = SampleFrames.pattern(16, 0xA0);
    static final int ITERATIONS = 10_000;
    static final byte[] CLIENT_NONCE = SampleFrames.pattern(32, 0x00);
    static final byte[] SERVER_NONCE = SampleFrames.pattern(32, 0x80);
    static final byte[] FINGERPRINT = SampleFrames.pattern(32, 0xC0);

    static final String K_HEX = "e2a89c57b0785617bfbc1460e1da43978cd17c190de3989344ce2845aa5ec24c";
    static final String CLIENT_KEY_HEX = "c99f77f26c339bd472d6a247418bfbefeb58f4235aee40c0a6a05f0d6bb9f2c0";
    static final String STORED_KEY_HEX = "d40c224d095e0978c669553b15c67fdad6d4d505c8624f5cd95fdc0f6d5d909e";
    static final String SERVER_KEY_HEX = "2d6060d11fef2bb47e0777f623b67757e271ca390bb4fc620f22f09b2dd73ff4";
    static final String CLIENT_PROOF_HEX = "25d3a3dc6a63d05c0e9ca7db540e1601a820e059939c3768a1d512bc604f8e29";
    static final String SERVER_PROOF_HEX = "9bd2ef02a5e17b0e39695486fb0cebfb4ecc74b3e85454c0ef043faf37ddf294";
    /** The client proof of the same handshake in plaintext test mode (fingerprint = 32 zero bytes). */
    static final String PLAINTEXT_CLIENT_PROOF_HEX = "439a0978ae9eb4253f049f952d2a440c559b730f8e6062e96ed45547eccd6b38";

    private static byte[] key;

    @BeforeAll
    static void derive() {
        key = HandshakeCrypto.deriveKey(PASSPHRASE, SALT, ITERATIONS);
    }

    @Test
    void knownAnswerPbkdf2() {
        assertEquals(K_HEX, hex(key));
        assertEquals(HandshakeCrypto.KEY_LENGTH, key.length);
    }

    @Test
    void knownAnswerProofs() {
        assertEquals(CLIENT_PROOF_HEX, hex(HandshakeCrypto.clientProof(key, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        assertEquals(SERVER_PROOF_HEX, hex(HandshakeCrypto.serverProof(key, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        assertEquals(PLAINTEXT_CLIENT_PROOF_HEX,
                hex(HandshakeCrypto.clientProof(key, CLIENT_NONCE, SERVER_NONCE, new byte[32])));
    }

    @Test
    void knownAnswerScramKeys() {
        assertEquals(CLIENT_KEY_HEX, hex(HandshakeCrypto.clientKey(key)));
        assertEquals(STORED_KEY_HEX, hex(HandshakeCrypto.storedKey(key)));
        assertEquals(SERVER_KEY_HEX, hex(HandshakeCrypto.serverKey(key)));
        byte[] serverKey = HandshakeCrypto.serverKey(key);
        assertEquals(SERVER_PROOF_HEX, hex(HandshakeCrypto.serverSignature(serverKey, CLIENT_NONCE, SERVER_NONCE,
                FINGERPRINT)));
    }

    @Test
    void theAgentVerifiesWithStoredKeyAloneAndTheVerifierCannotMakeAProof() {
        byte[] stored = HandshakeCrypto.storedKey(key);
        byte[] server = HandshakeCrypto.serverKey(key);
        byte[] proof = HandshakeCrypto.clientProof(key, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT);
        assertTrue(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT, proof));
        assertFalse(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, new byte[32], proof));
        assertFalse(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT, flip(proof, 0)));
        // Whoever holds the stored values and tries them as the key, or as ClientKey, gets nowhere.
        for (byte[] leaked : new byte[][] {stored, server}) {
            assertFalse(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT,
                    HandshakeCrypto.clientProof(leaked, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
            byte[] signature = HandshakeCrypto.serverSignature(leaked, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT);
            assertFalse(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT, signature));
        }
        assertFalse(HandshakeCrypto.verifyClientProof(stored, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT, new byte[31]));
    }

    @Test
    void passphraseIsEncodedAsUtf8() {
        // PBEKeySpec hands the chars to PBKDF2WithHmacSHA256, which encodes them as UTF-8: a non-ASCII
        // passphrase must give the key of its UTF-8 bytes (checked against the ASCII-only Latin-1 encoding).
        char[] p = "pässwörd-€".toCharArray();
        byte[] k = HandshakeCrypto.deriveKey(p, SALT, ITERATIONS);
        assertEquals(hex(Pbkdf2.sha256("pässwörd-€".getBytes(StandardCharsets.UTF_8), SALT, ITERATIONS)), hex(k));
    }

    @Test
    void proofsDifferWhenAnyInputDiffers() {
        byte[] base = HandshakeCrypto.clientProof(key, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT);
        byte[] otherKey = HandshakeCrypto.deriveKey("correct horse battery stapler".toCharArray(), SALT, ITERATIONS);
        byte[] otherSaltKey = HandshakeCrypto.deriveKey(PASSPHRASE, SampleFrames.pattern(16, 0xA1), ITERATIONS);
        byte[] otherIterKey = HandshakeCrypto.deriveKey(PASSPHRASE, SALT, ITERATIONS + 1);
        assertFalse(eq(base, HandshakeCrypto.clientProof(otherKey, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        assertFalse(eq(base, HandshakeCrypto.clientProof(otherSaltKey, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        assertFalse(eq(base, HandshakeCrypto.clientProof(otherIterKey, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        for (int i = 0; i < 32; i += 31) {
            assertFalse(eq(base, HandshakeCrypto.clientProof(key, flip(CLIENT_NONCE, i), SERVER_NONCE, FINGERPRINT)));
            assertFalse(eq(base, HandshakeCrypto.clientProof(key, CLIENT_NONCE, flip(SERVER_NONCE, i), FINGERPRINT)));
            assertFalse(eq(base, HandshakeCrypto.clientProof(key, CLIENT_NONCE, SERVER_NONCE, flip(FINGERPRINT, i))));
        }
        // Swapping the nonces changes the proof (the order is part of the input).
        assertFalse(eq(base, HandshakeCrypto.clientProof(key, SERVER_NONCE, CLIENT_NONCE, FINGERPRINT)));
        // The server proof is not the client proof: a relay cannot reflect one as the other.
        assertFalse(eq(base, HandshakeCrypto.serverProof(key, CLIENT_NONCE, SERVER_NONCE, FINGERPRINT)));
        assertFalse(eq(base, HandshakeCrypto.serverProof(key, SERVER_NONCE, CLIENT_NONCE, FINGERPRINT)));
    }

    @Test
    void constantTimeEquals() {
        byte[] a = SampleFrames.pattern(32, 3);
        assertTrue(HandshakeCrypto.constantTimeEquals(a, a.clone()));
        assertFalse(HandshakeCrypto.constantTimeEquals(a, flip(a, 31)));
        assertFalse(HandshakeCrypto.constantTimeEquals(a, new byte[31]));
    }

    @Test
    void fingerprintIsSha256OfTheDer() {
        // SHA-256("abc") from FIPS 180-2.
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                hex(HandshakeCrypto.fingerprint("abc".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void fingerprintFormatAndParseRoundTrip() {
        String text = HandshakeCrypto.formatFingerprint(FINGERPRINT);
        assertEquals("C0:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:"
                + "D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE:DF", text);
        assertThat(text).hasSize(32 * 3 - 1).matches("([0-9A-F]{2}:){31}[0-9A-F]{2}");
        assertArrayEquals(FINGERPRINT, HandshakeCrypto.parseFingerprint(text));
        assertArrayEquals(FINGERPRINT, HandshakeCrypto.parseFingerprint(text.toLowerCase()));
        assertArrayEquals(FINGERPRINT, HandshakeCrypto.parseFingerprint(text.replace(":", "")));
        assertArrayEquals(FINGERPRINT, HandshakeCrypto.parseFingerprint("  " + text + "\n"));
        byte[] all = new byte[32];
        for (int i = 0; i < 32; i++) {
            all[i] = (byte) (i * 8 + 7);
        }
        assertArrayEquals(all, HandshakeCrypto.parseFingerprint(HandshakeCrypto.formatFingerprint(all)));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "C0:C1",
        "C0:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE",
        "C0:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE:DF:E0",
        "G0:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE:DF",
        "+0:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE:DF",
        "-1:C1:C2:C3:C4:C5:C6:C7:C8:C9:CA:CB:CC:CD:CE:CF:D0:D1:D2:D3:D4:D5:D6:D7:D8:D9:DA:DB:DC:DD:DE:DF",
        "C0 C1 C2 C3 C4 C5 C6 C7 C8 C9 CA CB CC CD CE CF D0 D1 D2 D3 D4 D5 D6 D7 D8 D9 DA DB DC DD DE DF"
    })
    void malformedFingerprintsAreRefused(String text) {
        assertThatThrownBy(() -> HandshakeCrypto.parseFingerprint(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void iterationBounds() {
        assertEquals(10_000, HandshakeCrypto.MIN_ITERATIONS);
        assertEquals(10_000_000, HandshakeCrypto.MAX_ITERATIONS);
        assertThat(HandshakeCrypto.DEFAULT_ITERATIONS).isBetween(HandshakeCrypto.MIN_ITERATIONS, HandshakeCrypto.MAX_ITERATIONS);
        for (int bad : new int[] {HandshakeCrypto.MIN_ITERATIONS - 1, HandshakeCrypto.MAX_ITERATIONS + 1, 0, -1,
                Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> HandshakeCrypto.deriveKey(PASSPHRASE, SALT, bad))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        // MIN is allowed (the worked example uses it); MAX is allowed but far too slow to run here.
        assertEquals(32, HandshakeCrypto.deriveKey(PASSPHRASE, SALT, HandshakeCrypto.MIN_ITERATIONS).length);
    }

    @Test
    void aChallengeCarriesAnyIterationCountTheClientMustCheck() {
        // The frame itself does not police the count (the agent might announce anything); the client must.
        Frames.Challenge c = new Frames.Challenge(1, SERVER_NONCE, SALT, 1, 0, "a");
        assertEquals(1, c.iterations());
    }

    private static boolean eq(byte[] a, byte[] b) {
        return HandshakeCrypto.constantTimeEquals(a, b);
    }

    private static byte[] flip(byte[] b, int i) {
        byte[] c = b.clone();
        c[i] ^= 1;
        return c;
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** A plain PBKDF2-HMAC-SHA256 over bytes (RFC 8018 §5.2), one 32-byte block, to cross-check the JDK's. */
    static final class Pbkdf2 {
        static byte[] sha256(byte[] password, byte[] salt, int iterations) {
            try {
                javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
                mac.init(new javax.crypto.spec.SecretKeySpec(password, "HmacSHA256"));
                mac.update(salt);
                byte[] u = mac.doFinal(new byte[] {0, 0, 0, 1});
                byte[] t = u.clone();
                for (int i = 1; i < iterations; i++) {
                    u = mac.doFinal(u);
                    for (int j = 0; j < t.length; j++) {
                        t[j] ^= u[j];
                    }
                }
                return t;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
