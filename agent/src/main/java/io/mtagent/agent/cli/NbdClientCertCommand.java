package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.NbdCa;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent nbd client-cert}: a client certificate for a remote NBD reader, signed by the agent's NBD CA. */
@Command(name = "client-cert", mixinStandardHelpOptions = true,
        description = {"Issue a TLS client certificate that lets one remote reader in to the NBD port (nbd.listen),",
            "signed by the agent's NBD CA (<state.dir>/nbd-ca.crt and nbd-ca.key, made at first use). Run it on the",
            "agent's machine as the agent's user (it reads and writes the state directory). Writes DIR/ca-cert.pem",
            "(the CA, so the reader verifies the agent), DIR/client-cert.pem and DIR/client-key.pem (0600, the",
            "reader's secret): copy DIR to the reader's machine and use it with",
            "  nbdcopy 'nbds://AGENT:10809/NAME?tls-certificates=DIR' out.raw",
            "  qemu-img convert -p -O raw --object tls-creds-x509,id=tls0,dir=DIR,endpoint=client \\",
            "      --image-opts 'driver=nbd,host=AGENT,port=10809,export=NAME,tls-creds=tls0' out.raw",
            "AGENT must be a name in the agent's certificate (agent.name, localhost or 127.0.0.1).",
            "To revoke every certificate issued: delete both nbd-ca files, restart the agent, issue new ones.",
            "With nbd.tls.client.ca set, client certificates come from that CA instead: this command refuses."})
final class NbdClientCertCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write the three"
            + " files to (created 0700).")
    Path out;

    @Option(names = "--name", defaultValue = "nbd-reader", paramLabel = "NAME",
            description = "The reader's name, the certificate's CN (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--days", defaultValue = "365", paramLabel = "N",
            description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Option(names = "--overwrite", description = "Replace the files if DIR already has them.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        Path caFile = config.stateDir().resolve(NbdCa.CERT_FILE);
        if (config.nbdTlsClientCa().isPresent()) {
            System.err.println("mtagent nbd client-cert: nbd.tls.client.ca=" + config.nbdTlsClientCa().get()
                    + " is set, so readers need a client certificate from that CA; issue one with it. The reader's"
                    + " directory holds ca-cert.pem (the agent's NBD CA, " + caFile + "), client-cert.pem and"
                    + " client-key.pem.");
            return 2;
        }
        if (days < 1 || days > 3650) {
            System.err.println("mtagent nbd client-cert: --days must be 1..3650");
            return 2;
        }
        NbdCa ca = NbdCa.loadOrCreate(config.stateDir(), config.agentName());
        NbdCa.Issued issued = ca.issue(name, Duration.ofDays(days));
        try {
            ca.writeClientDirectory(out, issued, overwrite);
        } catch (IllegalStateException e) {
            System.err.println("mtagent nbd client-cert: " + e.getMessage());
            return 2;
        }
        System.out.printf("wrote %s/{ca-cert.pem, client-cert.pem, client-key.pem}: client certificate '%s', valid"
                + " until %s, signed by %s%n", out, name, issued.certificate().getNotAfter().toInstant(),
                caFile);
        System.out.println("Copy the directory to the reader's machine; client-key.pem is its secret.");
        if (config.nbdListen().isEmpty()) {
            System.out.println("Note: nbd.listen is not set, so the agent serves no NBD TCP port yet: set for"
                    + " example nbd.listen=0.0.0.0:10809 and restart the agent.");
        }
        return 0;
    }
}
