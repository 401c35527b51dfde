package io.mtagent.agent.recovery;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.config.HostPort;
import io.mtagent.agent.security.NbdCa;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The NBD server as the configuration asks for it: always the Unix socket ({@code nbd.socket}); with
 * {@code nbd.listen} also a TCP port: TLS with a server certificate from the agent's {@link NbdCa} and client
 * certificates from {@code nbd.tls.client.ca} (else from that same CA), or plain NBD on loopback when
 * {@code nbd.insecure.plaintext=true}.
 */
public final class NbdSetup {
    private static final Logger LOG = Logger.getLogger(NbdSetup.class.getName());

    private NbdSetup() {
    }

    /** A server (not started yet) for {@code config}. */
    public static NbdServer fromConfig(AgentConfig config) {
        List<NbdListener> listeners = new ArrayList<>();
        Path socket = config.nbdSocket().toAbsolutePath();
        if (config.nbdSocketConfigured() || NbdUnixSocket.fits(socket)) {
            listeners.add(NbdListener.unix(socket, config.filesGroup()));
        } else {
            LOG.warning(() -> "no NBD Unix socket: its default path " + socket + " is longer than a Unix socket"
                    + " path may be (" + NbdUnixSocket.MAX_PATH_BYTES + " bytes); set nbd.socket to a shorter path"
                    + " to serve views to local readers");
        }
        if (config.nbdListen().isPresent()) {
            HostPort tcp = config.nbdListen().get();
            if (config.nbdInsecurePlaintext()) {
                listeners.add(NbdListener.plain(tcp.toSocketAddress()));
            } else {
                NbdCa ca = NbdCa.loadOrCreate(config.stateDir(), config.agentName());
                listeners.add(NbdListener.tls(tcp.toSocketAddress(),
                        ca.serverContext(config.agentName(), clientIssuers(config, ca))));
            }
        }
        if (config.nbdListen().isEmpty() && (config.nbdInsecurePlaintext() || config.nbdTlsClientCa().isPresent())) {
            LOG.warning("nbd.insecure.plaintext and nbd.tls.client.ca apply to nbd.listen, which is not set: they"
                    + " have no effect");
        }
        NbdLimits limits = NbdLimits.defaults().withTimeouts(config.nbdHandshakeTimeout(), config.nbdIdleTimeout());
        return new NbdServer(listeners, limits);
    }

    /** The CA certificates client certificates must chain to. */
    static List<X509Certificate> clientIssuers(AgentConfig config, NbdCa ca) {
        if (config.nbdTlsClientCa().isPresent()) {
            Path file = config.nbdTlsClientCa().get();
            try {
                return NbdCa.readCertificates(file);
            } catch (IOException e) {
                throw new UncheckedIOException("nbd.tls.client.ca=" + file + " cannot be read", e);
            }
        }
        return List.of(ca.certificate());
    }
}
