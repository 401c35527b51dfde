package io.mtagent.agent.security;

import io.mtagent.protocol.HandshakeCrypto;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * The agent's TLS identity: an EC P-256 key and a self-signed certificate, generated on first start and kept in
 * the state directory. Process servers do not trust it through a CA; they <em>pin</em> its SHA-256 fingerprint
 * ({@code mtagent cert} prints {@link #fingerprintText()}), and the handshake proof covers that fingerprint.
 *
 * <p>Files in the state directory:
 * <ul>
 *   <li>{@code agent.key}: the private key, PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}), mode 0600 from its
 *       creation on;</li>
 *   <li>{@code agent.crt}: the certificate, PEM, mode 0644.</li>
 * </ul>
 * Both are written atomically (temp file, fsync, rename, directory fsync), the certificate first and the key last:
 * a crash during the first start leaves at most a certificate without a key, and a missing key means "generate a
 * new identity" on the next start. A key without its certificate, or a damaged file, stops the start with a
 * message naming the file, because silently replacing either would change the fingerprint every process server
 * has pinned.
 *
 * <p>Only JDK providers are used for keys, signatures and TLS; BouncyCastle only builds the certificate structure
 * and reads PEM. It is not registered as a JCE provider, because inside the shaded jar its signature is stripped
 * and a JCE provider without a valid signature cannot be used on every JDK.
 *
 * <p>Immutable and thread-safe.
 */
public final class AgentIdentity {
    public static final String KEY_FILE = "agent.key";
    public static final String CERT_FILE = "agent.crt";
    /** Ten years: the certificate is pinned, not CA-validated, so a short lifetime would only force re-pinning. */
    static final Duration VALIDITY = Duration.ofDays(3653);
    /** TLS 1.3 preferred, 1.2 for older process servers (docs/ARCHITECTURE.md, "Write path" step 1). */
    static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /**
     * AES-GCM only. JDK 17 has AES-GCM intrinsics (~1.1 GB/s on loopback here) but none for ChaCha20-Poly1305
     * (~0.2 GB/s), so a client preferring ChaCha20 would cut replication throughput fivefold. The TLS 1.2 suites are
     * the ECDHE_ECDSA ones because the key is EC.
     */
    static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");

    private static final System.Logger LOG = System.getLogger(AgentIdentity.class.getName());
    /**
     * Netty says at INFO, for every BoringSSL context built, that BoringSSL's TLS 1.3 suites cannot be configured:
     * that is the documented choice of {@link #serverSslContext(SslProvider)}, not news for the operator's log at
     * each start. Held in a field because java.util.logging keeps loggers (and so their level) weakly.
     */
    private static final Logger NETTY_TLS13_SUITES_NOTICE =
            Logger.getLogger("io.netty.handler.ssl.ReferenceCountedOpenSslContext");
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

    private final X509Certificate certificate;
    private final PrivateKey privateKey;
    private final byte[] fingerprint;

    private AgentIdentity(X509Certificate certificate, PrivateKey privateKey) {
        this.certificate = certificate;
        this.privateKey = privateKey;
        try {
            this.fingerprint = HandshakeCrypto.fingerprint(certificate.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encode the agent certificate", e);
        }
    }

    /**
     * Loads the identity from {@code stateDir}, generating it on first start.
     *
     * @param stateDir the agent's state directory; created if missing
     * @param hostName the name process servers reach the agent by; goes into the CN and the subject alternative
     *                 names of a newly generated certificate (an existing certificate is not changed)
     * @throws IllegalStateException if a file is damaged or one of the pair is missing, with what to do about it
     * @throws UncheckedIOException  if a file cannot be read or written
     */
    public static AgentIdentity loadOrCreate(Path stateDir, String hostName) {
        Objects.requireNonNull(hostName, "hostName");
        Path keyFile = stateDir.resolve(KEY_FILE);
        Path certFile = stateDir.resolve(CERT_FILE);
        try {
            Files.createDirectories(stateDir);
            if (!Files.exists(keyFile)) {
                if (Files.exists(certFile)) {
                    LOG.log(System.Logger.Level.WARNING, "{0} exists but its private key {1} does not (an"
                            + " interrupted first start, or the key was removed); generating a new identity: its"
                            + " fingerprint changes and every process server must pin the new one", certFile, keyFile);
                }
                return generate(keyFile, certFile, hostName);
            }
            if (!Files.exists(certFile)) {
                throw new IllegalStateException("the agent's private key " + keyFile + " exists but its certificate "
                        + certFile + " is missing: restore " + CERT_FILE + " from a backup, or delete " + keyFile
                        + " to generate a new identity (its fingerprint changes and every process server must"
                        + " re-pin it)");
            }
            SecureFiles.restrictToOwner(keyFile, LOG);
            return load(keyFile, certFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the agent identity in " + stateDir, e);
        }
    }

    /** The certificate the agent presents on 9443. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The certificate's private key. */
    public PrivateKey privateKey() {
        return privateKey;
    }

    /** SHA-256 over the certificate's DER encoding, the value the handshake proofs cover; a fresh copy. */
    public byte[] fingerprint() {
        return fingerprint.clone();
    }

    /** {@code AB:CD:...}, the form operators pin on the process servers. */
    public String fingerprintText() {
        return HandshakeCrypto.formatFingerprint(fingerprint);
    }

    /**
     * The TLS provider the agent's servers use: BoringSSL (netty-tcnative) when it loads on this platform, else the
     * JDK's SSLEngine. {@code -Dmtagent.tls.provider=jdk} forces the JDK provider. BoringSSL halves the agent's CPU
     * per ingested GB (mtagent bench: 1.7-2.1 against 3.1-3.4 core-seconds per GB of TLS + LZ4).
     */
    public static SslProvider tlsProvider() {
        NETTY_TLS13_SUITES_NOTICE.setLevel(Level.WARNING);
        String forced = System.getProperty("mtagent.tls.provider", "auto");
        if ("jdk".equalsIgnoreCase(forced)) {
            return SslProvider.JDK;
        }
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * A new Netty server context: TLS 1.3/1.2, no client certificates (process servers authenticate with the
     * passphrase proof instead), on {@link #tlsProvider()}. Build it once per server.
     */
    public SslContext serverSslContext() {
        return serverSslContext(tlsProvider());
    }

    /**
     * The server context on a given provider. Suites: on the JDK, the AES-GCM ones only ({@link #CIPHER_SUITES}:
     * the JDK has no ChaCha20 intrinsic, so a client preferring it would cut throughput fivefold). On BoringSSL the
     * TLS 1.2 suites are the same AES-GCM ones, while TLS 1.3 offers its three suites as BoringSSL fixes them
     * (it does not let them be configured): its ChaCha20-Poly1305 is assembly and as fast as AES-GCM, so the reason
     * for the JDK's restriction does not hold there.
     */
    SslContext serverSslContext(SslProvider provider) {
        try {
            return SslContextBuilder.forServer(privateKey, certificate)
                    .sslProvider(provider)
                    .protocols(PROTOCOLS)
                    .ciphers(CIPHER_SUITES, IdentityCipherSuiteFilter.INSTANCE)
                    .clientAuth(ClientAuth.NONE)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the TLS server context from " + CERT_FILE, e);
        }
    }

    @Override
    public String toString() {
        return "AgentIdentity[" + certificate.getSubjectX500Principal().getName() + ", " + fingerprintText() + "]";
    }

    private static AgentIdentity generate(Path keyFile, Path certFile, String hostName) throws IOException {
        KeyPair keyPair;
        X509Certificate certificate;
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            keyPair = generator.generateKeyPair();
            certificate = selfSign(keyPair, hostName);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the agent's EC P-256 key and certificate", e);
        }
        // Certificate first, key last: see the class comment on crashes during the first start.
        SecureFiles.writeAtomically(certFile, pem("CERTIFICATE", encoded(certificate)), SecureFiles.WORLD_READABLE);
        SecureFiles.writeAtomically(keyFile, pem("PRIVATE KEY", keyPair.getPrivate().getEncoded()),
                SecureFiles.OWNER_ONLY);
        AgentIdentity identity = new AgentIdentity(certificate, keyPair.getPrivate());
        LOG.log(System.Logger.Level.INFO, "generated the agent identity in {0}; certificate fingerprint (pin it on"
                + " the process servers): {1}", certFile.getParent(), identity.fingerprintText());
        return identity;
    }

    private static X509Certificate selfSign(KeyPair keyPair, String hostName)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, "mtagent on " + hostName).build();
        Instant now = Instant.now();
        // 159 random bits: positive, at most 20 octets as RFC 5280 §4.1.2.2 requires.
        BigInteger serial = new BigInteger(159, new SecureRandom());
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial,
                // Back-dated an hour so a process server whose clock lags a little accepts a fresh certificate.
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject,
                keyPair.getPublic());
        JcaX509ExtensionUtils extensionUtils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        builder.addExtension(Extension.subjectKeyIdentifier, false,
                extensionUtils.createSubjectKeyIdentifier(keyPair.getPublic()));
        builder.addExtension(Extension.subjectAlternativeName, false, subjectAlternativeNames(hostName));
        // No setProvider(): the JDK's SunEC signs, so BouncyCastle never has to be a (signed) JCE provider.
        ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(keyPair.getPrivate());
        byte[] der = builder.build(signer).getEncoded();
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    static GeneralNames subjectAlternativeNames(String hostName) {
        List<GeneralName> names = new ArrayList<>();
        names.add(generalName(hostName));
        if (!hostName.equalsIgnoreCase("localhost")) {
            names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        }
        if (!hostName.equals("127.0.0.1")) {
            names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        }
        return new GeneralNames(names.toArray(new GeneralName[0]));
    }

    private static GeneralName generalName(String hostName) {
        return IPAddress.isValid(hostName)
                ? new GeneralName(GeneralName.iPAddress, hostName)
                : new GeneralName(GeneralName.dNSName, hostName);
    }

    private static AgentIdentity load(Path keyFile, Path certFile) throws IOException {
        byte[] keyPem = Files.readAllBytes(keyFile);
        byte[] certPem = Files.readAllBytes(certFile);
        PrivateKey key;
        try {
            key = parsePrivateKey(keyPem);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw damaged(keyFile, certFile, keyFile, "it is not a PKCS#8 PEM EC private key (" + e.getMessage() + ")", e);
        }
        X509Certificate certificate;
        try {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(certPem));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw damaged(keyFile, certFile, certFile, "it is not a PEM X.509 certificate (" + e.getMessage() + ")", e);
        }
        if (!belongTogether(key, certificate)) {
            throw damaged(keyFile, certFile, certFile, "its public key does not match the private key in " + keyFile,
                    null);
        }
        if (certificate.getNotAfter().toInstant().isBefore(Instant.now())) {
            // Pinning does not check validity dates, but some clients do: say so instead of failing later.
            LOG.log(System.Logger.Level.WARNING, "the agent certificate {0} expired on {1}; delete {2} and {3} to"
                    + " generate a new one (and re-pin it)", certFile, certificate.getNotAfter(), keyFile, certFile);
        }
        return new AgentIdentity(certificate, key);
    }

    static PrivateKey parsePrivateKey(byte[] pem) throws IOException, GeneralSecurityException {
        Object parsed;
        try (PEMParser parser = new PEMParser(new InputStreamReader(new ByteArrayInputStream(pem),
                StandardCharsets.US_ASCII))) {
            parsed = parser.readObject();
        }
        if (!(parsed instanceof PrivateKeyInfo)) {
            throw new IOException(parsed == null ? "no PEM block found"
                    : "expected a '-----BEGIN PRIVATE KEY-----' block, found " + parsed.getClass().getSimpleName());
        }
        PrivateKeyInfo info = (PrivateKeyInfo) parsed;
        if (!X9ObjectIdentifiers.id_ecPublicKey.equals(info.getPrivateKeyAlgorithm().getAlgorithm())) {
            throw new IOException("not an EC key (algorithm " + info.getPrivateKeyAlgorithm().getAlgorithm() + ")");
        }
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    }

    /** Signs a probe with the key and verifies it with the certificate: a mismatched pair would fail every TLS handshake. */
    private static boolean belongTogether(PrivateKey key, X509Certificate certificate) {
        try {
            byte[] probe = "mtagent identity check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(SIGNATURE_ALGORITHM);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(SIGNATURE_ALGORITHM);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static IllegalStateException damaged(Path keyFile, Path certFile, Path bad, String why, Throwable cause) {
        return new IllegalStateException("cannot use " + bad + ": " + why + ". If it is damaged, delete both "
                + keyFile + " and " + certFile + " and start the agent again to generate a new identity; its"
                + " fingerprint changes, so every process server must re-pin it (mtagent cert prints it)", cause);
    }

    static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] pem(String type, byte[] der) throws IOException {
        StringWriter text = new StringWriter();
        try (PemWriter writer = new PemWriter(text)) {
            writer.writeObject(new PemObject(type, der));
        }
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
