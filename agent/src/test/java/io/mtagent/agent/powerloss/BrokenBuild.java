package io.mtagent.agent.powerloss;

import io.mtagent.agent.cli.MtAgentCli;
import io.mtagent.agent.ingest.BrokenSegmentReuse;
import io.mtagent.agent.log.LogIO;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * The deliberately broken builds the power-loss test must catch (agent/src/test/fuse/README.md), each breaking one
 * durability promise by overriding one method of a seam the production code offers ({@link LogIO}, the ingest
 * log's segment files). They exist only in the test sources: the agent child JVM is started through {@link #main},
 * which installs the named one and then runs the real command line. Nothing in the product can switch them on.
 */
public enum BrokenBuild {
    /**
     * The ingest log reports a group durable (and the session acknowledges it) before the fdatasync that makes it
     * so: a segment's data sync returns at once and runs a moment later on another thread (a disk that acks a
     * cache flush it has not done).
     */
    ACK_BEFORE_SYNC {
        @Override
        void install() {
            ExecutorService later = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "broken-build-deferred-sync");
                t.setDaemon(true);
                return t;
            });
            LogIO.install(new LogIO() {
                @Override
                public void force(Path file, FileChannel channel, boolean metadata) throws IOException {
                    if (metadata || !file.getFileName().toString().endsWith(".seg")) {
                        super.force(file, channel, metadata);
                        return;
                    }
                    later.execute(() -> { // through a descriptor of its own: the writer may close its one meanwhile
                        try (FileChannel own = FileChannel.open(file, StandardOpenOption.WRITE)) {
                            own.force(false);
                        } catch (IOException | RuntimeException ignored) {
                            // gone, or the power is already off: the sync that was promised never happens
                        }
                    });
                }
            });
        }
    },
    /**
     * {@code AtomicFile.write} renames the temp file over the target without fsyncing the directory, so the new
     * content can vanish in a power cut while the caller already acted on it.
     */
    RENAME_WITHOUT_DIR_SYNC {
        @Override
        void install() {
            LogIO.install(new LogIO() {
                @Override
                public void replace(Path source, Path target) throws IOException {
                    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
            });
        }
    },
    /**
     * Ingest-log segments are recycled through a pool shared by the disks, keeping their old incarnation id and
     * their old records past the synced end ({@link BrokenSegmentReuse}).
     */
    REUSE_SEGMENT_INCARNATION {
        @Override
        void install() {
            BrokenSegmentReuse.install();
        }
    };

    /** The system property {@link #main} reads the build's name from. */
    public static final String PROPERTY = "powerloss.brokenBuild";

    abstract void install();

    /** The JVM flags that start an agent child JVM as this broken build (with {@link #main} as its main class). */
    public String flag() {
        return "-D" + PROPERTY + "=" + name();
    }

    /** Installs the broken build named by {@value #PROPERTY}, says so loudly, then runs the agent's command line. */
    public static void main(String[] args) {
        BrokenBuild build = valueOf(System.getProperty(PROPERTY, "").toUpperCase(Locale.ROOT));
        build.install();
        Logger.getLogger(BrokenBuild.class.getName()).severe("TEST-ONLY BROKEN BUILD " + build + ": this agent breaks"
                + " a durability promise on purpose; never run it with real data");
        MtAgentCli.main(args);
    }
}
