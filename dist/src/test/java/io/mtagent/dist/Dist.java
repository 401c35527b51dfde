package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The built archive, unpacked: where it is and how to run its launcher. */
final class Dist {
    private Dist() {
    }

    static Path archive() {
        String p = System.getProperty("mtagent.dist.archive");
        assertThat(p).as("run through 'mvn verify' (the dist module passes the archive's path)").isNotNull();
        return Path.of(p);
    }

    /** Unpacks the tar.gz with tar (keeps the file modes, as an operator's unpack would) and returns its home. */
    static Path unpack(Path into) throws Exception {
        Process p = new ProcessBuilder("tar", "xzf", archive().toString(), "-C", into.toString())
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        return into.resolve("mtagent-" + System.getProperty("mtagent.dist.version"));
    }

    /** bin/mtagent with a small heap (2 cores shared by several builds), output into {@code log}. */
    static ProcessBuilder launcher(Path home, Path workDir, Path log, Map<String, String> env, List<String> args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(home.resolve("bin/mtagent").toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("MTAGENT_HEAP", "256m");
        pb.environment().put("MTAGENT_OPTS", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        return pb;
    }

    static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
}
