package io.mtagent.agent.control;

import io.mtagent.protocol.HandshakeCrypto;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS client contexts for the control plane's own HTTPS clients (JDK {@code HttpClient}): either trust the
 * certificates of a PEM file (CA chain validation and host-name check by the JDK), or pin one server certificate
 * by its SHA-256 fingerprint (the CLI pins the agent's own self-signed certificate; the host name is then
 * irrelevant, the key is what is checked).
 */
public final class PinnedTrust {
    private PinnedTrust() {
    }

    /** Trusts the certificates in a PEM file as anchors. */
    public static SSLContext fromPemFile(Path pem) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new IOException(pem + " holds no PEM certificate");
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Trusts exactly the server certificate whose SHA-256 fingerprint is {@code fingerprint}. */
    public static SSLContext pinned(byte[] fingerprint) throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new Pin(fingerprint.clone())}, null);
        return ctx;
    }

    /** Trusts exactly the certificate in {@code certFile} (PEM). */
    public static SSLContext pinnedFile(Path certFile) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(certFile)) {
            Certificate c = CertificateFactory.getInstance("X.509").generateCertificate(in);
            return pinned(HandshakeCrypto.fingerprint(c.getEncoded()));
        }
    }

    private static final class Pin extends X509ExtendedTrustManager {
        private final byte[] fingerprint;

        Pin(byte[] fingerprint) {
            this.fingerprint = fingerprint;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the server sent no certificate");
            }
            chain[0].checkValidity();
            byte[] actual;
            try {
                actual = HandshakeCrypto.fingerprint(chain[0].getEncoded());
            } catch (GeneralSecurityException e) {
                throw new CertificateException(e);
            }
            if (!MessageDigest.isEqual(actual, fingerprint)) {
                throw new CertificateException("the server's certificate fingerprint "
                        + HandshakeCrypto.formatFingerprint(actual) + " is not the pinned "
                        + HandshakeCrypto.formatFingerprint(fingerprint));
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("client side only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
