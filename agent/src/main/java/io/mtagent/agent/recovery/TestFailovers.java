package io.mtagent.agent.recovery;

import io.mtagent.agent.disk.ReplicatedDisk;
import io.mtagent.agent.journal.PointInTimeView;
import io.mtagent.agent.log.AtomicFile;
import io.mtagent.agent.retention.TestedPoints;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Test failovers (docs/ARCHITECTURE.md, "Test failover"): a point of one disk, or of every disk of a group, served
 * <em>writable</em> over the agent's NBD server so a test VM can boot from it, with every write going
 * copy-on-write into a capped scratch file ({@link ScratchDisk}) on the scratch volume
 * ({@code testfailover.scratch.dir}). The target and the retention journal are only read; replication and
 * retention go on. Each disk's point is held against pruning (the view's lease) for as long as the test runs.
 * Ending a test removes its exports, deletes the scratch files and records "tested at &lt;time&gt;" on each point
 * ({@link TestedPoints}, durable), which {@code mtagent points} shows.
 *
 * <p>Starting is immediate whatever the point's age: it opens a view (a lease and nothing else: no copy, no wait
 * for the applier) and creates an empty sparse scratch file. A test does not survive a restart of the agent: its
 * scratch files are deleted at start and its points are not marked tested.
 *
 * <p>Thread-safe.
 */
public final class TestFailovers implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TestFailovers.class.getName());
    static final String SCRATCH_SUFFIX = ".scratch";

    /**
     * One disk of a test: its point, the scratch over the held view, the NBD export serving it, and a hold on the
     * point's own record (so a tag under test stays listed by name, not only reachable as the earliest point).
     */
    public record Member(ReplicatedDisk disk, long seq, ScratchDisk scratch, String exportName, AutoCloseable hold) {
    }

    /** A running test. */
    public record Test(String id, List<Member> members, Instant started, long capBytes) {
    }

    private final NbdServer server;
    private final Path scratchDir;
    private final AtomicLong ids = new AtomicLong();
    private final Map<String, Test> running = new LinkedHashMap<>();

    /**
     * @param server the agent's NBD server (null when it is not running: starts are refused)
     * @param scratchDir where scratch files go; leftovers of a previous run of the agent are deleted now
     */
    public TestFailovers(NbdServer server, Path scratchDir) {
        this.server = server;
        this.scratchDir = scratchDir;
        deleteLeftovers();
    }

    private void deleteLeftovers() {
        if (!Files.isDirectory(scratchDir)) {
            return;
        }
        try (Stream<Path> s = Files.list(scratchDir)) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith(SCRATCH_SUFFIX)).toList()) {
                Files.deleteIfExists(p);
                LOG.warning("deleted the scratch file " + p + " of a test failover the agent's restart ended");
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot clean the test failover scratch directory " + scratchDir, e);
        }
    }

    /**
     * Starts a test of {@code points} (disk → seq; one disk, or every disk of a group at its group point).
     *
     * @param capBytes most bytes each disk's scratch may hold
     * @throws IllegalStateException when a point cannot be served (pruned, disk rolled back), a disk is already
     *         under test, or the scratch volume has less free space than the caps
     */
    public synchronized Test start(Map<ReplicatedDisk, Long> points, long capBytes) throws IOException {
        if (server == null) {
            throw new IllegalStateException("the agent's NBD server is not running (nbd.socket, nbd.listen), so nothing can be"
                    + " served");
        }
        for (Test t : running.values()) {
            for (Member m : t.members()) {
                if (points.containsKey(m.disk())) {
                    throw new IllegalStateException("disk " + m.disk().id() + " is already under test failover "
                            + t.id() + " (seq " + m.seq() + "); end it first: mtagent test-failover --end " + t.id());
                }
            }
        }
        AtomicFile.createDirectories(scratchDir);
        long need = capBytes * points.size();
        long free = Files.getFileStore(scratchDir).getUsableSpace();
        if (need > free) {
            throw new IllegalStateException("the scratch volume " + scratchDir + " has " + (free >> 20) + " MiB free,"
                    + " less than the " + (need >> 20) + " MiB this test may write (" + points.size() + " disk(s) × "
                    + (capBytes >> 20) + " MiB cap): free space, set a smaller --scratch-cap, or point"
                    + " testfailover.scratch.dir at a larger volume");
        }
        String id = "test-" + ids.incrementAndGet();
        List<Member> members = new ArrayList<>();
        try {
            for (Map.Entry<ReplicatedDisk, Long> e : points.entrySet()) {
                members.add(open(id, e.getKey(), e.getValue(), capBytes));
            }
        } catch (IOException | RuntimeException e) {
            close(members);
            throw e;
        }
        Test test = new Test(id, List.copyOf(members), Instant.now(), capBytes);
        running.put(id, test);
        for (Member m : members) {
            server.addExport(export(m));
        }
        LOG.info(() -> "test failover " + id + " started: " + describe(test));
        return test;
    }

    private Member open(String id, ReplicatedDisk disk, long seq, long capBytes) throws IOException {
        PointInTimeView view;
        try {
            view = disk.view(seq, Duration.ZERO); // never waits: beyond the applied point it reads the ingest log
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        String name = NbdExport.nameOf(disk.id(), seq) + "+" + id;
        Path file = scratchDir.resolve(disk.id().replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + id + SCRATCH_SUFFIX);
        AutoCloseable hold = () -> { };
        try {
            if (disk.journal() != null && seq > disk.journal().earliestSeq()) {
                hold = disk.journal().lease(seq - 1);
            }
            return new Member(disk, seq, new ScratchDisk(view, file, capBytes), name, hold);
        } catch (IOException | RuntimeException e) {
            view.close();
            release(hold);
            throw e;
        }
    }

    /** The writable export of one member: every connection reads and writes the member's scratch. */
    private static NbdExport export(Member m) {
        ScratchDisk scratch = m.scratch();
        ViewLease lease = new ViewLease() {
            @Override
            public PointInTimeView view() {
                return scratch.view();
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                scratch.read(offset, dst);
            }

            @Override
            public boolean writable() {
                return true;
            }

            @Override
            public void write(long offset, ByteBuffer src) throws IOException {
                scratch.write(offset, src);
            }

            @Override
            public void writeZeroes(long offset, long length) throws IOException {
                scratch.writeZeroes(offset, length);
            }

            @Override
            public void close() {
                // the test owns the view and the scratch: they end with it, not with a connection
            }
        };
        return new NbdExport(m.exportName(), "test failover of disk " + m.disk().id() + " at seq " + m.seq()
                + " (writes go to a scratch file, discarded at the end)", scratch.size(), () -> lease, true);
    }

    /** The running tests. */
    public synchronized List<Test> running() {
        return List.copyOf(running.values());
    }

    /** The running test that serves {@code disk}, or null. */
    public synchronized Test of(ReplicatedDisk disk) {
        for (Test t : running.values()) {
            for (Member m : t.members()) {
                if (m.disk() == disk) {
                    return t;
                }
            }
        }
        return null;
    }

    /**
     * Ends test {@code id}: its exports go (clients still connected get errors from then on), its scratch files
     * are deleted, its points' leases released, and each point is recorded as tested now (durable on return).
     *
     * @return the test, or null when no such test runs
     */
    public Test end(String id) throws IOException {
        Test test;
        synchronized (this) {
            test = running.remove(id);
        }
        if (test == null) {
            return null;
        }
        for (Member m : test.members()) {
            server.removeExport(m.exportName());
        }
        close(test.members());
        Instant at = Instant.now();
        for (Member m : test.members()) {
            if (m.disk().journal() != null) {
                TestedPoints.record(m.disk().journal().directory(), m.seq(), at);
            }
        }
        LOG.info(() -> "test failover " + id + " ended: scratch discarded, " + describe(test) + " marked tested at " + at);
        return test;
    }

    private static void close(List<Member> members) {
        for (Member m : members) {
            try {
                m.scratch().close();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot delete the scratch file " + m.scratch().file(), e);
            } finally {
                m.scratch().view().close();
                release(m.hold());
            }
        }
    }

    private static void release(AutoCloseable hold) {
        try {
            hold.close();
        } catch (Exception e) {
            throw new IllegalStateException(e); // a journal lease's release does not fail
        }
    }

    private static String describe(Test t) {
        StringBuilder b = new StringBuilder();
        for (Member m : t.members()) {
            b.append(b.length() == 0 ? "" : ", ").append(m.disk().id()).append(" at seq ").append(m.seq());
        }
        return b.toString();
    }

    /** The agent stops: every test ends without being recorded (its scratch is deleted). */
    @Override
    public synchronized void close() {
        for (Test t : running.values()) {
            for (Member m : t.members()) {
                if (server != null) {
                    server.removeExport(m.exportName());
                }
            }
            close(t.members());
        }
        running.clear();
    }
}
