package io.mtagent.agent.cli;

import io.mtagent.agent.recovery.NbdUrls;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtagent nbd}: serve a point-in-time view read-only over NBD (POST/DELETE /v1/nbd). */
@Command(name = "nbd", mixinStandardHelpOptions = true, subcommands = NbdClientCertCommand.class,
        description = {"Serve a disk as it was at a recovery point, read-only, on the agent's NBD server: a test",
            "failover that does not disturb replication. Prints the URLs and copy commands for qemu-img and nbdcopy.",
            "Local readers use the Unix socket nbd.socket (default <state.dir>/nbd.sock; only the agent's user, or",
            "the members of files.group, may connect): nbd+unix:///NAME?socket=PATH. Readers on other machines use",
            "nbd.listen (off by default), TLS with a client certificate from 'mtagent nbd client-cert':",
            "nbds://HOST:PORT/NAME?tls-certificates=DIR.",
            "The export stays published until --stop or the agent stops; a reader pins its point against pruning.",
            "",
            "Points (--point; what 'mtagent points' prints is accepted): latest, latest-processed, latest-app,",
            "seq:N or N, tag:NAME or NAME, or a time with a zone such as 2026-11-23T10:42:17Z.",
            "",
            "Examples:  mtagent nbd --disk disk-0 --point tag:before-upgrade",
            "           mtagent nbd --list",
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

    @Option(names = "--list", description = "List the exports being served, with their connected readers.")
    boolean list;

    @Option(names = "--json", description = "With --list: print the JSON document instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        ControlClient client = new ControlClient(configOptions.load());
        if (list) {
            return list(client);
        }
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
            System.err.println("mtagent nbd: give --disk and --point (or --stop NAME, or --list); see 'mtagent nbd"
                    + " --help'");
            return 2;
        }
        ControlClient.Response r = client.post("v1/nbd", Map.of("disk", disk, "point", point));
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        String diskId = r.body().path("disk").asText();
        System.out.printf("serving disk %s at seq %d (%s), read-only:%n", diskId, r.body().path("seq").asLong(),
                r.body().path("time").asText("?"));
        r.body().path("urls").forEach(u -> System.out.println("  " + u.asText()));
        if (r.body().hasNonNull("warning")) {
            System.out.println("WARNING: " + r.body().path("warning").asText());
        }
        r.body().path("urls").forEach(u -> printCopyExamples(u.asText(), diskId + ".raw"));
        System.out.println("Stop serving it:  mtagent nbd --stop '" + r.body().path("name").asText() + "'");
        return 0;
    }

    /** The qemu-img and nbdcopy commands that read {@code url}, under a heading saying who may run them. */
    static void printCopyExamples(String url, String out) {
        if (url.startsWith("nbd+unix:")) {
            System.out.println("Copy it on this machine (as the agent's user, or a member of files.group):");
        } else if (url.startsWith("nbds:")) {
            System.out.println("Copy it from another machine, with a client certificate directory "
                    + NbdUrls.CERTIFICATE_DIR + " made by 'mtagent nbd client-cert --out " + NbdUrls.CERTIFICATE_DIR
                    + "':");
        } else {
            System.out.println("Copy it (plain NBD: any local user can):");
        }
        NbdUrls.copyCommands(url, out).forEach(c -> System.out.println("  " + c));
    }

    private int list(ControlClient client) {
        ControlClient.Response r = client.get("v1/nbd");
        if (r.status() != 200) {
            System.err.println("mtagent: " + r.error());
            return 2;
        }
        if (json) {
            CliJson.print(System.out, r.body());
            return 0;
        }
        Table t = new Table("EXPORT", "READERS", "WHAT");
        r.body().path("exports").forEach(e -> t.row(e.path("name").asText(), e.path("readers").asText(),
                e.path("description").asText()));
        t.print(System.out);
        if (r.body().path("exports").isEmpty()) {
            System.out.println("(nothing is served; 'mtagent nbd --disk D --point P' serves a point)");
        }
        return 0;
    }
}
