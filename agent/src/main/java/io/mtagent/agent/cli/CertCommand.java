package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import io.mtagent.agent.security.AgentIdentity;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent cert}: the certificate's SHA-256 fingerprint, for process servers to pin. */
@Command(name = "cert", mixinStandardHelpOptions = true,
        description = {"Print the SHA-256 fingerprint of the agent's TLS certificate (generated on first start).",
            "Configure it on the process servers so they refuse any other certificate."})
final class CertCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--json", description = "Print fingerprint, subject, expiry and file as JSON (for scripts).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        AgentConfig config = configOptions.load();
        Files.createDirectories(config.stateDir());
        AgentIdentity id = AgentIdentity.loadOrCreate(config.stateDir(), config.agentName());
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("fingerprint", id.fingerprintText());
            doc.put("subject", id.certificate().getSubjectX500Principal().getName());
            doc.put("validUntil", id.certificate().getNotAfter().toInstant().toString());
            doc.put("certificateFile", config.stateDir().resolve(AgentIdentity.CERT_FILE).toString());
            CliJson.print(System.out, doc);
            return 0;
        }
        System.out.println("SHA-256 fingerprint: " + id.fingerprintText());
        System.out.println("subject:             " + id.certificate().getSubjectX500Principal().getName());
        System.out.println("valid until:         " + id.certificate().getNotAfter().toInstant());
        System.out.println("certificate file:    " + config.stateDir().resolve(AgentIdentity.CERT_FILE));
        return 0;
    }
}
