package io.mtagent.agent.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.protocol.HandshakeCrypto;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PassphraseStoreTest {
    /** The smallest count the KDF allows keeps these tests fast; the default is 21 times slower. */
    private static final int ITERATIONS = HandshakeCrypto.MIN_ITERATIONS;
    private static final String PASSPHRASE = "correct horse battery staple";

    @TempDir
    Path stateDir;

    private final byte[] clientNonce = filled(HandshakeCrypto.NONCE_LENGTH, 1);
    private final byte[] serverNonce = filled(HandshakeCrypto.NONCE_LENGTH, 2);
    private final byte[] fingerprint = filled(HandshakeCrypto.FINGERPRINT_LENGTH, 3);

    @Test
    void nothingStoredYet() {
        assertThat(PassphraseStore.load(stateDir)).isEmpty();
    }

    @Test
    void setThenLoadRoundTrips() {
        PassphraseStore written = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);
        PassphraseStore loaded = PassphraseStore.load(stateDir).orElseThrow();

        assertThat(loaded.salt()).hasSize(PassphraseStore.SALT_LENGTH).isEqualTo(written.salt());
        assertThat(loaded.iterations()).isEqualTo(ITERATIONS);
        assertThat(loaded.storedKey()).isEqualTo(written.storedKey()).isEqualTo(HandshakeCrypto.storedKey(
                HandshakeCrypto.deriveKey(PASSPHRASE.toCharArray(), written.salt(), ITERATIONS)));
    }

    @Test
    void eachSetDrawsANewSalt() {
        byte[] first = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS).salt();
        byte[] second = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS).salt();

        assertThat(second).isNotEqualTo(first);
        assertThat(PassphraseStore.load(stateDir).orElseThrow().salt()).isEqualTo(second);
    }

    @Test
    void verifiesTheRightProofAndRejectsAWrongPassphrase() {
        PassphraseStore store = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);

        byte[] right = proofFor(PASSPHRASE, store);
        byte[] wrong = proofFor("correct horse battery stapler", store);
        assertThat(store.verifyClientProof(clientNonce, serverNonce, fingerprint, right)).isTrue();
        assertThat(store.verifyClientProof(clientNonce, serverNonce, fingerprint, wrong)).isFalse();
        // The proof is bound to the fingerprint the client saw: a relaying proxy's certificate does not pass.
        byte[] otherFingerprint = filled(HandshakeCrypto.FINGERPRINT_LENGTH, 4);
        assertThat(store.verifyClientProof(clientNonce, serverNonce, otherFingerprint, right)).isFalse();
        assertThat(store.verifyClientProof(clientNonce, serverNonce, fingerprint, Arrays.copyOf(right, 31))).isFalse();
    }

    @Test
    void serverProofMatchesWhatTheClientExpects() {
        PassphraseStore store = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);
        byte[] clientSideKey = HandshakeCrypto.deriveKey(PASSPHRASE.toCharArray(), store.salt(), store.iterations());

        assertThat(store.serverProof(clientNonce, serverNonce, fingerprint))
                .isEqualTo(HandshakeCrypto.serverProof(clientSideKey, clientNonce, serverNonce, fingerprint))
                .isNotEqualTo(HandshakeCrypto.clientProof(clientSideKey, clientNonce, serverNonce, fingerprint));
    }

    @Test
    void fileIsOwnerOnlyAndHoldsNoPassphrase() throws Exception {
        PassphraseStore store = PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);
        Path file = stateDir.resolve(PassphraseStore.FILE);

        if (SecureFiles.isPosix(stateDir)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        }
        byte[] content = Files.readAllBytes(file);
        String text = new String(content, StandardCharsets.UTF_8);
        assertThat(text).doesNotContain(PASSPHRASE).doesNotContain("horse")
                .startsWith("mtagent-auth-key v2\nsalt=").contains("\niterations=" + ITERATIONS + "\nstored-key=")
                .contains("\nserver-key=");
        assertThat(indexOf(content, PASSPHRASE.getBytes(StandardCharsets.UTF_16BE))).isNegative();
        byte[] saltedPassword = HandshakeCrypto.deriveKey(PASSPHRASE.toCharArray(), store.salt(), ITERATIONS);
        assertThat(text).as("the file does not hold SaltedPassword, which could log in")
                .doesNotContain(java.util.HexFormat.of().formatHex(saltedPassword))
                .doesNotContain(java.util.HexFormat.of().formatHex(HandshakeCrypto.clientKey(saltedPassword)));
        assertThat(store.toString()).doesNotContain(java.util.HexFormat.of().formatHex(store.storedKey()));
    }

    @Test
    void aVersionOneFileIsRewrittenAsVersionTwoAndTheSamePassphraseStillLogsIn() throws Exception {
        byte[] salt = filled(PassphraseStore.SALT_LENGTH, 9);
        byte[] saltedPassword = HandshakeCrypto.deriveKey(PASSPHRASE.toCharArray(), salt, ITERATIONS);
        Path file = stateDir.resolve(PassphraseStore.FILE);
        java.util.HexFormat hex = java.util.HexFormat.of();
        Files.writeString(file, "mtagent-auth-key v1\nsalt=" + hex.formatHex(salt) + "\niterations=" + ITERATIONS
                + "\nkey=" + hex.formatHex(saltedPassword) + "\n");

        PassphraseStore store = PassphraseStore.load(stateDir).orElseThrow();

        String text = Files.readString(file);
        assertThat(text).startsWith("mtagent-auth-key v2\n").doesNotContain(hex.formatHex(saltedPassword));
        assertThat(store.salt()).isEqualTo(salt);
        assertThat(store.verifyClientProof(clientNonce, serverNonce, fingerprint, proofFor(PASSPHRASE, store))).isTrue();
        assertThat(PassphraseStore.load(stateDir).orElseThrow().storedKey()).isEqualTo(store.storedKey());
    }

    @Test
    void passphraseArrayIsZeroedAfterUse() {
        char[] passphrase = PASSPHRASE.toCharArray();
        PassphraseStore.set(stateDir, passphrase, ITERATIONS);
        assertThat(passphrase).containsOnly('\0');
    }

    @Test
    void shortPassphraseIsRefusedWithTheReasonAndNothingIsWritten() {
        char[] shortOne = "elevenchars".toCharArray();
        assertThatThrownBy(() -> PassphraseStore.set(stateDir, shortOne, ITERATIONS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 12")
                .hasMessageContaining("11 characters");
        assertThat(shortOne).containsOnly('\0');
        assertThat(PassphraseStore.load(stateDir)).isEmpty();
    }

    @Test
    void iterationsOutsideTheClientRangeAreRefused() {
        assertThatThrownBy(() -> PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), 1000))
                .hasMessageContaining("auth.iterations 1000");
    }

    @Test
    void damagedFileNamesItselfAndTheCommand() throws Exception {
        PassphraseStore.set(stateDir, PASSPHRASE.toCharArray(), ITERATIONS);
        Path file = stateDir.resolve(PassphraseStore.FILE);
        Files.writeString(file, Files.readString(file).replace("stored-key=", "stored-key=zz"));

        assertThatThrownBy(() -> PassphraseStore.load(stateDir))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("mtagent passphrase set");
    }

    @Test
    void setFromFileUsesTheFirstLineOnly() throws Exception {
        Path passphraseFile = stateDir.resolve("passphrase.txt");
        Files.writeString(passphraseFile, PASSPHRASE + "\nsecond line ignored\n");

        PassphraseStore store = PassphraseStore.setFromFile(stateDir, passphraseFile, ITERATIONS);

        assertThat(store.verifyClientProof(clientNonce, serverNonce, fingerprint, proofFor(PASSPHRASE, store)))
                .isTrue();
    }

    private byte[] proofFor(String passphrase, PassphraseStore store) {
        byte[] key = HandshakeCrypto.deriveKey(passphrase.toCharArray(), store.salt(), store.iterations());
        return HandshakeCrypto.clientProof(key, clientNonce, serverNonce, fingerprint);
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
