package io.mtagent.agent.config;

import java.net.InetSocketAddress;

/**
 * A listening address as configured: {@code host:port}, IPv6 literals in brackets ({@code [::1]:9443}). The host
 * is kept as text and resolved only when binding, so loading the configuration never waits for DNS.
 *
 * @param host a host name or IP literal (without brackets)
 * @param port 0..65535; 0 asks the OS for a free port (tests)
 */
public record HostPort(String host, int port) {
    public HostPort {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("the host part is empty; use 0.0.0.0 to listen on all addresses");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 0..65535");
        }
    }

    /** Parses {@code host:port} or {@code [ipv6]:port}. */
    public static HostPort parse(String text) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) {
                throw new IllegalArgumentException("use [ipv6-address]:port, e.g. [::1]:9443");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                throw new IllegalArgumentException("use host:port, e.g. 0.0.0.0:9443 (IPv6 in brackets: [::]:9443)");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        try {
            return new HostPort(host, Integer.parseInt(port));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the port '" + port + "' is not a number");
        }
    }

    /** A socket address for binding; resolves the host name now. */
    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
