package io.mtagent.agent.recovery;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The URLs (NBD URI specification, as qemu and libnbd read them) under which an export is reachable on the
 * server's listeners: {@code nbd+unix:///NAME?socket=PATH} on the Unix socket, {@code nbds://HOST:PORT/NAME} on
 * the TLS port (the reader adds {@code ?tls-certificates=DIR} with its client certificate), {@code
 * nbd://HOST:PORT/NAME} on a plain port.
 */
public final class NbdUrls {
    /** Placeholder for the reader's client certificate directory in {@link #copyCommands}. */
    public static final String CERTIFICATE_DIR = "DIR";

    private NbdUrls() {
    }

    /**
     * One URL per listener, in the listeners' order.
     *
     * @throws IllegalStateException when the server has no listener (the message says which settings to fix)
     * @param hostForAnyAddress the name to print when a port listens on every address (the agent's name)
     */
    public static List<String> of(List<NbdServer.NbdEndpoint> endpoints, String exportName, String hostForAnyAddress) {
        if (endpoints.isEmpty()) {
            throw new IllegalStateException("the NBD server has no socket to serve on: set nbd.socket (a path of at"
                    + " most " + NbdUnixSocket.MAX_PATH_BYTES + " bytes) or nbd.listen, and restart the agent");
        }
        List<String> urls = new ArrayList<>();
        for (NbdServer.NbdEndpoint e : endpoints) {
            switch (e.kind()) {
                case UNIX -> urls.add("nbd+unix:///" + exportName + "?socket=" + e.socket());
                case TLS -> urls.add("nbds://" + hostPort(e.address(), hostForAnyAddress) + "/" + exportName);
                case PLAIN -> urls.add("nbd://" + hostPort(e.address(), hostForAnyAddress) + "/" + exportName);
            }
        }
        return urls;
    }

    /**
     * Shell commands that copy the export at {@code url} into the file {@code out} with qemu-img and nbdcopy; for
     * an {@code nbds://} URL they name the reader's certificate directory {@value #CERTIFICATE_DIR}. The tests run
     * them against a real server.
     */
    public static List<String> copyCommands(String url, String out) {
        if (url.startsWith("nbds://")) {
            URI u = URI.create("tcp" + url.substring("nbds".length()));
            String host = u.getHost() != null ? u.getHost() : u.getAuthority().replaceAll(":\\d+$", "");
            String export = u.getRawPath().substring(1);
            return List.of("nbdcopy --progress '" + url + "?tls-certificates=" + CERTIFICATE_DIR + "' " + out,
                    "qemu-img convert -p -O raw --object tls-creds-x509,id=tls0,dir=" + CERTIFICATE_DIR
                            + ",endpoint=client --image-opts 'driver=nbd,host=" + host + ",port=" + u.getPort()
                            + ",export=" + export + ",tls-creds=tls0' " + out);
        }
        List<String> commands = new ArrayList<>();
        commands.add("qemu-img convert -p -f raw -O raw '" + url + "' " + out);
        if (url.startsWith("nbd+unix:")) {
            commands.add("nbdcopy --progress '" + url + "' " + out);
        }
        return commands;
    }

    private static String hostPort(InetSocketAddress address, String hostForAnyAddress) {
        String host = address.getAddress().isAnyLocalAddress() ? hostForAnyAddress : address.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
