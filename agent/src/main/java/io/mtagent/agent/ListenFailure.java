package io.mtagent.agent;

import io.mtagent.agent.config.HostPort;
import java.util.Locale;

/**
 * The start-up refusal when a server cannot bind its address: names the address, the setting that chose it and
 * the fix for the usual causes (the port is taken, the address is not this machine's, a privileged port).
 */
final class ListenFailure {
    private ListenFailure() {
    }

    /**
     * @param what    which server, e.g. "the data server"
     * @param setting the setting that holds the address, e.g. {@code data.listen}
     * @param cause   what the bind threw (Netty may throw a checked exception without declaring it)
     */
    static IllegalStateException of(String what, String setting, HostPort address, Throwable cause) {
        String reason = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        String port = String.valueOf(address.port());
        String why;
        if (reason.contains("address already in use")) {
            why = "port " + port + " is in use by another process (another agent? 'ss -ltnp sport = :" + port
                    + "' shows which); stop it, or set " + setting + " to a free HOST:PORT";
        } else if (reason.contains("cannot assign requested address")) {
            why = address.host() + " is not an address of this machine; set " + setting + " to one of its addresses,"
                    + " or 0.0.0.0:" + port + " for all of them";
        } else if (reason.contains("permission denied") || reason.contains("access denied")) {
            why = "ports below 1024 need CAP_NET_BIND_SERVICE (see the unit's CapabilityBoundingSet=); or set "
                    + setting + " to a port above 1023";
        } else {
            why = cause.getMessage() + "; check " + setting;
        }
        return new IllegalStateException("cannot listen on " + address + " for " + what + " (" + setting + "="
                + address + "): " + why, cause);
    }
}
