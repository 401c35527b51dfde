package io.mtagent.agent.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The agent's NBD certificate authority, for the TLS port of remote readers ({@code nbd.listen}): it signs the
 * port's server certificate (a new one at every start, in memory only) and the readers' client certificates
 * ({@code mtagent nbd client-cert}). An EC P-256 key and a self-signed CA certificate in the state directory,
 * {@value #CERT_FILE} (0644) and {@value #KEY_FILE} (0600), made at first need. A separate CA rather than the
 * agent's data-port certificate because qemu requires its {@code ca-cert.pem} to be a CA certificate. Revoking
 * every client certificate it issued: delete both files and restart the agent (then issue new ones).
 *
 * <p>A client directory ({@link #writeClientDirectory}) has the layout qemu's {@code tls-creds-x509} and libnbd's
 * {@code tls-certificates} expect: {@code ca-cert.pem} (this CA, so the reader verifies the agent), {@code
 * client-cert.pem} and {@code client-key.pem} (0600; PKCS#8 with the public key inside, which GnuTLS requires).
 *
 * <p>Immutable after loading; thread-safe. Files are written with {@link SecureFiles#writeAtomically}.
 */
public final class NbdCa {
    public static final String CERT_FILE = "nbd-ca.crt";
    public static final String KEY_FILE = "nbd-ca.key";
    /** Validity of the NBD port's server certificate, made anew at every start. */
    static final Duration SERVER_VALIDITY = Duration.ofDays(3653);
    static final Duration CA_VALIDITY = Duration.ofDays(3653);
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    private static final System.Logger LOG = System.getLogger(NbdCa.class.getName());

    private final X509Certificate certificate;
    private final PrivateKey key;

    private NbdCa(X509Certificate certificate, PrivateKey key) {
        this.certificate = certificate;
        this.key = key;
    }

    /** A certificate this CA issued (to a reader, or the NBD port's own) and its private key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
    }

    /** Loads the CA from {@code stateDir}, creating it when neither file exists. */
    public static NbdCa loadOrCreate(Path stateDir, String agentName) {
        Path certFile = stateDir.resolve(CERT_FILE);
        Path keyFile = stateDir.resolve(KEY_FILE);
        try {
            if (Files.exists(keyFile) && Files.exists(certFile)) {
                SecureFiles.restrictToOwner(keyFile, LOG);
                return new NbdCa(readCertificates(certFile).get(0),
                        AgentIdentity.parsePrivateKey(Files.readAllBytes(keyFile)));
            }
            if (Files.exists(keyFile) || Files.exists(certFile)) {
                throw new IllegalStateException("only one of " + certFile + " and " + keyFile + " exists: restore the"
                        + " other from a backup, or delete both to make a new NBD CA (the client certificates"
                        + " it issued stop working)");
            }
            SecureFiles.createPrivateDirectories(stateDir);
            KeyPair pair = newKeyPair();
            X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, "mtagent NBD CA on "
                    + agentName).build();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_VALIDITY)), name, pair.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate ca = sign(builder, pair.getPrivate());
            SecureFiles.writeAtomically(certFile, AgentIdentity.pem("CERTIFICATE", AgentIdentity.encoded(ca)),
                    SecureFiles.WORLD_READABLE);
            SecureFiles.writeAtomically(keyFile, AgentIdentity.pem("PRIVATE KEY", pair.getPrivate().getEncoded()),
                    SecureFiles.OWNER_ONLY);
            LOG.log(System.Logger.Level.INFO, "created the NBD CA {0}; ''mtagent nbd client-cert'' issues"
                    + " certificates for remote readers", certFile);
            return new NbdCa(ca, pair.getPrivate());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the NBD CA in " + stateDir + " (run 'mtagent nbd"
                    + " client-cert' as the agent's user, so that the agent can read what it makes)", e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot read or make the NBD CA in " + stateDir + ": "
                    + e.getMessage(), e);
        }
    }

    /** The CA certificate: readers verify the agent with it, and it signs their client certificates. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** A new client certificate for {@code readerName}, valid for {@code validity} from now. */
    public Issued issue(String readerName, Duration validity) {
        return issue(readerName, validity, KeyPurposeId.id_kp_clientAuth, null);
    }

    /**
     * A TLS server context for the NBD port: a new server certificate for {@code agentName} (and localhost,
     * 127.0.0.1) signed by this CA, requiring client certificates that chain to one of {@code clientIssuers}.
     */
    public SslContext serverContext(String agentName, List<X509Certificate> clientIssuers) {
        Issued server = issue("mtagent NBD on " + agentName, SERVER_VALIDITY, KeyPurposeId.id_kp_serverAuth,
                AgentIdentity.subjectAlternativeNames(agentName));
        try {
            return SslContextBuilder.forServer(server.key(), server.certificate(), certificate)
                    .sslProvider(AgentIdentity.tlsProvider())
                    .protocols(AgentIdentity.PROTOCOLS)
                    .ciphers(AgentIdentity.CIPHER_SUITES, IdentityCipherSuiteFilter.INSTANCE)
                    .trustManager(clientIssuers.toArray(new X509Certificate[0]))
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the NBD port's TLS context", e);
        }
    }

    private Issued issue(String commonName, Duration validity, KeyPurposeId purpose, GeneralNames names) {
        try {
            KeyPair pair = newKeyPair();
            X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
            X500Name issuer = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), subject, pair.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            if (names != null) {
                builder.addExtension(Extension.subjectAlternativeName, false, names);
            }
            builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            builder.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
            return new Issued(sign(builder, key), pair.getPrivate());
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot issue an NBD certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code ca-cert.pem} (this CA), {@code client-cert.pem} and {@code client-key.pem} (0600) into {@code
     * dir} (created 0700), for qemu ({@code tls-creds-x509,dir=DIR,endpoint=client}) and libnbd
     * ({@code nbds://...?tls-certificates=DIR}).
     *
     * @throws IllegalStateException when one of the files exists and {@code overwrite} is false
     */
    public void writeClientDirectory(Path dir, Issued issued, boolean overwrite) throws IOException {
        SecureFiles.createPrivateDirectories(dir);
        for (String f : List.of("ca-cert.pem", "client-cert.pem", "client-key.pem")) {
            if (!overwrite && Files.exists(dir.resolve(f))) {
                throw new IllegalStateException(dir.resolve(f) + " exists: choose another --out directory or"
                        + " give --overwrite");
            }
        }
        SecureFiles.writeAtomically(dir.resolve("ca-cert.pem"),
                AgentIdentity.pem("CERTIFICATE", AgentIdentity.encoded(certificate)), SecureFiles.WORLD_READABLE);
        SecureFiles.writeAtomically(dir.resolve("client-cert.pem"),
                AgentIdentity.pem("CERTIFICATE", AgentIdentity.encoded(issued.certificate())), SecureFiles.WORLD_READABLE);
        SecureFiles.writeAtomically(dir.resolve("client-key.pem"),
                AgentIdentity.pem("PRIVATE KEY", pkcs8WithPublicKey(issued)), SecureFiles.OWNER_ONLY);
    }

    /** Every certificate in a PEM file (nbd.tls.client.ca); refuses a file without one. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try {
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)))) {
                out.add((X509Certificate) c);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(file + " is not a PEM file of X.509 certificates: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IllegalStateException(file + " holds no certificate");
        }
        return out;
    }

    /**
     * The key as PKCS#8 whose inner SEC1 ECPrivateKey carries the public key: the JDK leaves it out, and GnuTLS
     * (qemu, libnbd) refuses such a key ("ASN1 parser: Element was not found").
     */
    private static byte[] pkcs8WithPublicKey(Issued issued) throws IOException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(issued.key().getEncoded());
        SubjectPublicKeyInfo publicKey = SubjectPublicKeyInfo.getInstance(
                issued.certificate().getPublicKey().getEncoded());
        // The JDK's key interface by its full name: BouncyCastle's ASN.1 structure of the same name is imported.
        ECPrivateKey inner = new ECPrivateKey(256, ((java.security.interfaces.ECPrivateKey) issued.key()).getS(),
                publicKey.getPublicKeyData(), null);
        return new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), inner).getEncoded();
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return generator.generateKeyPair();
    }

    /** 159 random bits: positive, at most 20 octets as RFC 5280 §4.1.2.2 requires. */
    private static BigInteger serial() {
        return new BigInteger(159, new SecureRandom());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey)
            throws OperatorCreationException, GeneralSecurityException, IOException {
        ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signingKey);
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(builder.build(signer).getEncoded()));
    }
}
