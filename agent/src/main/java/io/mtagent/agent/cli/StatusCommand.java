package io.mtagent.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent status}: the running agent's health and disks at a glance; a Nagios-style check. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {
            "Show the running agent's health, data server and every disk (state, RPO, backlog, forecast).",
            "Talks to the control API; the address, token and certificate come from the configuration.",
            "",
            "Exit code (a Nagios check): 0 ok, 1 warning, 2 critical, 3 unknown (no agent answers, or it refused",
            "the token).",
            "Health codes (MT-1xxx warnings, MT-2xxx critical) are explained in the README's troubleshooting table."})
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--json", description = "Print the /status JSON document instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ControlClient.Response r;
        try {
            r = new ControlClient(configOptions.load()).get("status");
        } catch (IllegalStateException e) { // unreachable, no token, no certificate: the state is unknown
            System.err.println("mtagent: UNKNOWN: " + e.getMessage());
            return OperatorErrors.UNKNOWN;
        }
        if (r.status() != 200) {
            System.err.println("mtagent: UNKNOWN: the agent answered HTTP " + r.status() + ": " + r.error());
            return OperatorErrors.UNKNOWN;
        }
        JsonNode s = r.body();
        String health = s.path("health").path("status").asText("critical");
        if (json) {
            CliJson.print(System.out, s);
        } else {
            JsonNode a = s.path("agent");
            System.out.printf("agent %s %s, up %d s, health %s%n", a.path("name").asText(), a.path("version").asText(),
                    a.path("uptimeSeconds").asLong(), health.toUpperCase(Locale.ROOT));
            JsonNode d = s.path("dataServer");
            System.out.printf("data server %s, %s, %d session(s); cache free %s%n", d.path("address").asText(),
                    d.path("listening").asBoolean() ? "listening" : "NOT LISTENING", d.path("sessions").asInt(),
                    ReplicasCommand.size(s.path("cacheVolume").path("freeBytes").asLong()));
            JsonNode pitr = s.path("pointInTimeRecovery");
            System.out.printf("point-in-time recovery %s: %s%n", pitr.path("on").asBoolean() ? "on" : "OFF",
                    pitr.path("why").asText());
            for (JsonNode f : s.path("health").path("rules")) {
                System.out.printf("  %s %-8s %s%n", f.path("code").asText(), f.path("severity").asText(),
                        f.path("message").asText());
            }
            ReplicasCommand.table(s.path("disks"));
        }
        return switch (health) {
            case "ok" -> 0;
            case "warning" -> 1;
            default -> 2;
        };
    }
}
