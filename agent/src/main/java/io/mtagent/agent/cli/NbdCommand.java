package io.mtagent.agent.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent nbd}: serve a point-in-time view read-only over NBD (POST/DELETE /v1/nbd). */
@Command(name = "nbd", mixinStandardHelpOptions = true,
        description = {"Serve a disk as it was at a recovery point, read-only, on the agent's NBD server: a test",
            "failover that does not disturb replication. Prints the nbd:// URL; read it with qemu-img, nbdcopy or",
            "nbd-client. The server listens on nbd.listen (default 127.0.0.1:10809: plain NBD on loopback; reach",
            "it from elsewhere through an SSH tunnel, or configure a non-loopback address, where TLS is required).",
            "The export stays published until --stop or the agent stops; a reader pins its point against pruning.",
            "",
            "Points (--point): latest, latest-processed, latest-app, seq:N, tag:NAME or 2026-11-23T10:42:17Z.",
            "",
            "Examples:  mtagent nbd --disk disk-0 --point tag:before-upgrade",
            "           mtagent nbd --stop disk-0@seq:1234"})
final class NbdCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--disk", paramLabel = "ID", description = "A disk id (or its config name).")
    String disk;

    @Option(names = "--point", paramLabel = "POINT", description = "The recovery point to serve.")
    String point;

    @Option(names = "--stop", paramLabel = "NAME", description = "Stop serving the export NAME (connected readers"
            + " finish; new ones are refused).")
    String stop;

    @Override
    public Integer call() {
        ControlClient client = new ControlClient(configOptions.load());
        if (stop != null) {
            ControlClient.Response r = client.delete("v1/nbd/" + PointsCommand.enc(stop).replace("+", "%20"));
            if (r.status() != 200) {
                System.err.println("mtagent: " + r.error());
                return 2;
            }
            System.out.println("stopped serving " + stop + " (" + r.body().path("readers").asInt()
                    + " reader(s) still connected finish their reads)");
            return 0;
        }
        if (disk == null || point == null) {
            System.err.println("mtagent nbd: give --disk and --point (or --stop NAME); see 'mtagent nbd --help'");
            return 2;
        }
        ControlClient.Response r = client.post("v1/nbd", Map.of("disk", disk, "point", point));
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        String url = r.body().path("url").asText();
        System.out.printf("serving disk %s at seq %d (%s), read-only:%n  %s%n", r.body().path("disk").asText(),
                r.body().path("seq").asLong(), r.body().path("time").asText("?"), url);
        if (r.body().hasNonNull("warning")) {
            System.out.println("WARNING: " + r.body().path("warning").asText());
        }
        System.out.println("Copy it, for example:");
        System.out.println("  qemu-img convert -p -f raw -O raw '" + url + "' " + r.body().path("disk").asText()
                + ".raw");
        System.out.println("Stop serving it:  mtagent nbd --stop '" + r.body().path("name").asText() + "'");
        return 0;
    }
}
