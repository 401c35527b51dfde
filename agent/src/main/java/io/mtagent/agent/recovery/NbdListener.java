package io.mtagent.agent.recovery;

import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One way in to the NBD server, and how its readers are authenticated:
 * <ul>
 *   <li>{@link Kind#UNIX}: a Unix socket for local readers; the file's permissions decide who may connect (0600,
 *       or 0660 with a group);</li>
 *   <li>{@link Kind#TLS}: a TCP port where every client must upgrade with NBD_OPT_STARTTLS before any other option
 *       and present a certificate the context trusts (the context requires client authentication);</li>
 *   <li>{@link Kind#PLAIN}: plain NBD on a loopback TCP address, every local user let in (explicitly configured
 *       only: {@code nbd.insecure.plaintext}).</li>
 * </ul>
 *
 * @param socket the Unix socket path ({@link Kind#UNIX} only)
 * @param socketGroup the group that may also connect to the socket ({@link Kind#UNIX}; empty: owner only)
 * @param address the TCP address ({@link Kind#TLS}, {@link Kind#PLAIN})
 * @param tls the server context requiring client certificates ({@link Kind#TLS} only)
 */
public record NbdListener(Kind kind, Path socket, Optional<String> socketGroup, InetSocketAddress address,
                          SslContext tls) {
    public enum Kind { UNIX, TLS, PLAIN }

    public NbdListener {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(socketGroup, "socketGroup");
    }

    public static NbdListener unix(Path socket, Optional<String> group) {
        return new NbdListener(Kind.UNIX, Objects.requireNonNull(socket), group, null, null);
    }

    public static NbdListener tls(InetSocketAddress address, SslContext clientAuthContext) {
        return new NbdListener(Kind.TLS, null, Optional.empty(), Objects.requireNonNull(address),
                Objects.requireNonNull(clientAuthContext));
    }

    public static NbdListener plain(InetSocketAddress address) {
        return new NbdListener(Kind.PLAIN, null, Optional.empty(), Objects.requireNonNull(address), null);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case UNIX -> "unix:" + socket;
            case TLS -> "tls:" + address;
            case PLAIN -> "plain:" + address;
        };
    }
}
