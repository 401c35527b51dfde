package io.mtagent.agent.send;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.mtagent.protocol.client.ReplicationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One {@code mtagent send} run over several disks: open every source, then every disk stream on one connection,
 * check each pair (sizes, states) before anything is sent, send the disks in parallel, and when every disk ended
 * with a consistent end marker, add the <b>group</b> tag (one name on every disk: the group point a multi-disk
 * machine is crash-consistent at) and the app-consistent tag when asked. Not thread-safe; one run per instance.
 */
public final class SendRun implements AutoCloseable {
    /** One {@code --disk ID --source URI|PATH [--bitmap NAME]} group of the command line. */
    public record DiskSpec(String disk, String source, String bitmap) {
    }

    private static final int MAX_PARALLEL_DISKS = 8;
    private final List<DiskSpec> specs;
    private final SendOptions options;
    private final Map<String, SendSource> sources = new LinkedHashMap<>();
    private final Map<String, DiskStream> streams = new LinkedHashMap<>();

    public SendRun(List<DiskSpec> specs, SendOptions options) {
        this.specs = specs;
        this.options = options;
    }

    /** Opens every source; the first that fails is reported (the others are closed again). */
    public void openSources() throws SendException {
        for (DiskSpec s : specs) {
            if (sources.containsKey(s.disk())) {
                throw new SendException("disk " + s.disk() + " is given twice; each --disk once per run");
            }
            sources.put(s.disk(), SendSource.open(s.disk(), s.source(), s.bitmap()));
        }
    }

    /**
     * Opens every disk stream under {@code epoch} and checks it against its source; refuses (nothing sent on any
     * disk) a disk that is failed or being recovered, or whose size differs.
     */
    public void openStreams(ReplicationClient client, long epoch) throws SendException, ReplicationException,
            InterruptedException {
        for (DiskSpec s : specs) {
            DiskStream stream = client.openDisk(s.disk(), epoch);
            if (stream.state() == DiskState.FAILED || stream.state() == DiskState.RECOVERING) {
                throw new SendException("disk " + s.disk() + " is " + stream.state().label() + " on the agent; fix"
                        + " that first ('mtagent status' on the agent)");
            }
            sources.get(s.disk()).checkAgainst(stream);
            streams.put(s.disk(), stream);
        }
    }

    public SendSource source(String disk) {
        return sources.get(disk);
    }

    public DiskStream stream(String disk) {
        return streams.get(disk);
    }

    /**
     * Sends every disk (in parallel), then the tags. {@code groupTag}: add the group tag named after the run even
     * for one disk (several disks always get it). {@code appTag}: the app-consistent tag's name, or null.
     */
    public SendSummary send(SendProgress progress, boolean groupTag, String appTag) throws InterruptedException {
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(MAX_PARALLEL_DISKS, specs.size()), r -> {
            Thread t = new Thread(r, "send-disk");
            t.setDaemon(true);
            return t;
        });
        List<Future<DiskReport>> futures = new ArrayList<>();
        try {
            for (DiskSpec s : specs) {
                futures.add(pool.submit(() -> sources.get(s.disk()).send(streams.get(s.disk()), options, progress)));
            }
            List<DiskReport> reports = new ArrayList<>();
            List<String> errors = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                try {
                    reports.add(futures.get(i).get());
                } catch (ExecutionException e) {
                    errors.add(specs.get(i).disk() + ": " + message(e.getCause()));
                }
            }
            progress.finish();
            boolean consistent = errors.isEmpty() && reports.stream().allMatch(DiskReport::consistent);
            boolean group = specs.size() > 1 || groupTag;
            String groupPoint = null;
            String app = null;
            if (consistent) {
                try {
                    if (group) {
                        tagAll(TagType.GROUP, options.endName());
                        groupPoint = options.endName();
                    }
                    if (appTag != null) {
                        tagAll(TagType.APP_CONSISTENT, appTag);
                        app = appTag;
                    }
                } catch (Exception e) {
                    errors.add("tags: " + message(e));
                }
            }
            int exit = !errors.isEmpty() ? 2 : consistent ? 0 : 1;
            return new SendSummary(reports, errors, groupPoint, app, group ? specs.size() : 0,
                    (System.nanoTime() - t0) / 1e9, exit);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The same tag on every disk, each acknowledged (durable) before this returns. */
    private void tagAll(TagType type, String name) throws Exception {
        long micros = System.currentTimeMillis() * 1000;
        Map<DiskStream, Long> seqs = new LinkedHashMap<>();
        for (DiskStream s : streams.values()) {
            seqs.put(s, s.tag(type, name, micros));
        }
        for (Map.Entry<DiskStream, Long> e : seqs.entrySet()) {
            e.getKey().awaitAcked(e.getValue(), Duration.ofMinutes(1));
        }
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        return m == null ? t.toString() : m;
    }

    @Override
    public void close() {
        for (SendSource s : sources.values()) {
            s.close();
        }
        sources.clear();
    }
}
