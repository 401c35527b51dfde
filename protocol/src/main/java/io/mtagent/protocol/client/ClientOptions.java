package io.mtagent.protocol.client;

import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link ReplicationClient}. Immutable; build with {@link #builder(String, int)}.
 *
 * <p>Security: with TLS (the default) the agent's certificate is accepted whatever its issuer, because agents
 * use self-signed certificates; the handshake proofs are bound to the certificate's fingerprint, so a relay
 * with its own certificate can neither pass our proof on nor produce the agent's. Setting
 * {@link Builder#pinnedFingerprint} additionally refuses any other certificate before the passphrase proof is
 * even computed.
 */
public final class ClientOptions {
    final String host;
    final int port;
    final char[] passphrase;
    final byte[] pinnedFingerprint;
    final boolean plaintext;
    final String clientName;
    final Duration connectTimeout;
    final Duration handshakeTimeout;
    final boolean compress;
    final int[] versionRange;

    private ClientOptions(Builder b) {
        this.host = b.host;
        this.port = b.port;
        this.passphrase = b.passphrase.clone();
        this.pinnedFingerprint = b.pinnedFingerprint == null ? null : b.pinnedFingerprint.clone();
        this.plaintext = b.plaintext;
        this.clientName = b.clientName;
        this.connectTimeout = b.connectTimeout;
        this.handshakeTimeout = b.handshakeTimeout;
        this.compress = b.compress;
        this.versionRange = b.versionRange;
    }

    public static Builder builder(String host, int port) {
        return new Builder(host, port);
    }

    public String host() { return host; }
    public int port() { return port; }

    /** Builder; every setting has a safe default except the passphrase. */
    public static final class Builder {
        private final String host;
        private final int port;
        private char[] passphrase;
        private byte[] pinnedFingerprint;
        private boolean plaintext;
        private String clientName = "mtagent-client";
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration handshakeTimeout = Duration.ofSeconds(30);
        private boolean compress = true;
        private int[] versionRange = {Protocol.MIN_VERSION, Protocol.MAX_VERSION};

        private Builder(String host, int port) {
            this.host = Objects.requireNonNull(host);
            this.port = port;
        }

        public Builder passphrase(char[] passphrase) { this.passphrase = passphrase.clone(); return this; }
        /** Refuse any agent certificate whose SHA-256 fingerprint differs (the form {@code mtagent cert} prints). */
        public Builder pinnedFingerprint(String fingerprint) {
            this.pinnedFingerprint = fingerprint == null ? null : HandshakeCrypto.parseFingerprint(fingerprint);
            return this;
        }
        /** Test only: no TLS. The agent must run with {@code data.insecure.plaintext=true}. */
        public Builder plaintext(boolean plaintext) { this.plaintext = plaintext; return this; }
        public Builder clientName(String name) { this.clientName = name; return this; }
        public Builder connectTimeout(Duration d) { this.connectTimeout = d; return this; }
        public Builder handshakeTimeout(Duration d) { this.handshakeTimeout = d; return this; }
        /** LZ4-compress writes when it saves at least 1/8 (default true). */
        public Builder compress(boolean compress) { this.compress = compress; return this; }
        /** Test only: offer another protocol version range in HELLO. */
        public Builder versionRange(int min, int max) { this.versionRange = new int[] {min, max}; return this; }

        public ClientOptions build() {
            if (passphrase == null) {
                throw new IllegalStateException("a passphrase is required");
            }
            return new ClientOptions(this);
        }
    }
}
