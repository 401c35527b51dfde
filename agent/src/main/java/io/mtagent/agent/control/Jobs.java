package io.mtagent.agent.control;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Control operations that can wait (recover, export, verify, release, clear-failure) run as jobs, so a request returns at
 * once (202 with the job id) and the operator polls {@code GET /v1/jobs/<id>} or {@code /status}.
 *
 * <p>One operation at a time per disk: {@link #lock} claims a set of disks or refuses with {@link Busy} (409),
 * and a job holds its disks until it ends. The last {@value #KEEP_FINISHED} finished jobs are kept for polling;
 * jobs live in memory only (a restart forgets them; an interrupted rollback is finished by the agent's start).
 *
 * <p>Thread-safe: claims are synchronized; a job's progress fields are written by its one worker thread and
 * read by any (volatile).
 */
final class Jobs implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Jobs.class.getName());
    static final int KEEP_FINISHED = 50;
    /** Jobs running at once; more wait in line. */
    static final int MAX_RUNNING = 8;

    /** A disk is taken by another operation. */
    static final class Busy extends Exception {
        Busy(String message) {
            super(message);
        }
    }

    /** The work of a job: returns its result document; its exception message becomes the job's error. */
    @FunctionalInterface
    interface Work {
        Object run(Job job) throws Exception;
    }

    enum State { RUNNING, DONE, FAILED, CANCELLED }

    /** Thrown from a cancellable job's {@link Job#progress} once the operator asked to cancel it. */
    static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled by the operator");
        }
    }

    /** One job: what it does, on which disks, how far it is. */
    static final class Job {
        final String id;
        final String kind;
        final List<String> disks;
        final Instant started = Instant.now();
        private volatile State state = State.RUNNING;
        private volatile String step = "";
        private volatile long stepStartNanos = System.nanoTime();
        private volatile long done;
        private volatile long total;
        private volatile Object result;
        private volatile String error;
        private volatile boolean cancellable;
        private volatile boolean cancelRequested;

        Job(String id, String kind, List<String> disks) {
            this.id = id;
            this.kind = kind;
            this.disks = List.copyOf(disks);
        }

        /** Starts a new step (one disk of a group, a phase): its progress starts at zero. */
        void step(String label) {
            step = label;
            stepStartNanos = System.nanoTime();
            done = 0;
            total = 0;
        }

        /**
         * Bytes done of the current step. In a cancellable job this is also where a cancel takes effect: it throws
         * {@link Cancelled}, so the work stops at its next progress report and cleans up as on any failure.
         */
        void progress(long doneBytes, long totalBytes) {
            total = totalBytes;
            done = doneBytes;
            if (cancelRequested) {
                throw new Cancelled();
            }
        }

        /** Marks the job as one the operator may cancel (its work cleans up after itself when stopped). */
        void cancellable() {
            cancellable = true;
        }

        State state() {
            return state;
        }

        /** The job as JSON: state, step, progress {done, total, mbps, etaSeconds}, result or error. */
        Map<String, Object> document() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("kind", kind);
            m.put("disks", disks);
            m.put("state", state.name().toLowerCase(Locale.ROOT));
            m.put("started", started.toString());
            m.put("step", step);
            long d = done;
            long t = total;
            double seconds = (System.nanoTime() - stepStartNanos) / 1e9;
            double rate = seconds <= 0 ? 0 : d / seconds;
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("done", d);
            p.put("total", t);
            p.put("mbps", Math.round(rate / 1e6 * 10) / 10.0);
            p.put("etaSeconds", state != State.RUNNING ? Long.valueOf(0)
                    : rate <= 0 || t <= 0 ? null : Long.valueOf((long) Math.ceil((t - d) / rate)));
            m.put("progress", p);
            m.put("result", result);
            m.put("error", error);
            m.put("cancellable", cancellable && state == State.RUNNING);
            return m;
        }
    }

    /**
     * Jobs of different disks run side by side (one per disk at a time, by the claims), so a job that waits (a
     * release of a paused disk) never holds up another disk's rollback; idle threads end.
     */
    private final ThreadPoolExecutor executor = new ThreadPoolExecutor(MAX_RUNNING, MAX_RUNNING, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "control-job");
                t.setDaemon(true);
                return t;
            });

    Jobs() {
        executor.allowCoreThreadTimeOut(true);
    }
    private final AtomicLong ids = new AtomicLong();
    /** Jobs ended since start, by outcome (metrics: the finished list above is trimmed). */
    private final AtomicLong doneCount = new AtomicLong();
    private final AtomicLong failedCount = new AtomicLong();
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final Set<String> busy = new HashSet<>();
    private final Map<String, String> busyWith = new LinkedHashMap<>();

    /**
     * Claims {@code disks} for one operation.
     *
     * @throws Busy naming the operation that holds one of them
     */
    synchronized void lock(Collection<String> disks, String what) throws Busy {
        for (String d : disks) {
            if (busy.contains(d)) {
                throw new Busy("disk " + d + " is busy with " + busyWith.get(d) + "; wait for it to finish"
                        + " ('mtagent status' shows running jobs)");
            }
        }
        for (String d : disks) {
            busy.add(d);
            busyWith.put(d, what);
        }
    }

    synchronized void unlock(Collection<String> disks) {
        for (String d : disks) {
            busy.remove(d);
            busyWith.remove(d);
        }
    }

    /** Claims the disks and starts the work; the disks are free again when it ends. */
    Job submit(String kind, List<String> disks, Work work) throws Busy {
        String id = kind + "-" + ids.incrementAndGet();
        lock(disks, "job " + id);
        Job job = new Job(id, kind, disks);
        synchronized (this) {
            jobs.put(id, job);
            trim();
        }
        try {
            executor.execute(() -> run(job, work));
        } catch (RuntimeException e) {
            unlock(disks);
            throw e;
        }
        return job;
    }

    private void run(Job job, Work work) {
        try {
            job.result = work.run(job);
            job.state = State.DONE;
            doneCount.incrementAndGet();
            LOG.info(() -> "job " + job.id + " done");
        } catch (Cancelled e) {
            job.error = e.getMessage();
            job.state = State.CANCELLED;
            failedCount.incrementAndGet();
            LOG.info(() -> "job " + job.id + " cancelled by the operator");
        } catch (Exception | Error e) {
            String msg = e.getMessage() != null ? e.getMessage() : e.toString();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                msg = "interrupted: the agent is shutting down";
            }
            job.error = msg;
            job.state = State.FAILED;
            failedCount.incrementAndGet();
            String logged = msg;
            LOG.log(e instanceof RuntimeException && !(e instanceof IllegalStateException)
                    && !(e instanceof IllegalArgumentException) ? Level.WARNING : Level.INFO,
                    "job " + job.id + " failed: " + logged, e instanceof IllegalStateException ? null : e);
        } finally {
            unlock(job.disks);
        }
    }

    private void trim() {
        int finished = 0;
        for (Job j : jobs.values()) {
            if (j.state != State.RUNNING) {
                finished++;
            }
        }
        var it = jobs.values().iterator();
        while (finished > KEEP_FINISHED && it.hasNext()) {
            if (it.next().state != State.RUNNING) {
                it.remove();
                finished--;
            }
        }
    }

    synchronized Job get(String id) {
        return jobs.get(id);
    }

    /**
     * Asks a running job to stop; it ends {@code cancelled} at its next progress report.
     *
     * @return null when the request was taken, else why not (the job has ended, or its kind cannot stop midway)
     */
    String cancel(Job job) {
        if (job.state != State.RUNNING) {
            return "job " + job.id + " has already ended (" + job.state.name().toLowerCase(Locale.ROOT) + ")";
        }
        if (!job.cancellable) {
            return "a " + job.kind + " job cannot be stopped midway" + (job.kind.equals("recover")
                    ? ": let it finish, then 'mtagent recover --to latest' undoes it" : ": let it finish");
        }
        job.cancelRequested = true;
        LOG.info(() -> "job " + job.id + ": cancel requested");
        return null;
    }

    /** Jobs running now. */
    synchronized int running() {
        int n = 0;
        for (Job j : jobs.values()) {
            if (j.state == State.RUNNING) {
                n++;
            }
        }
        return n;
    }

    /** Jobs that ended in {@code state} (DONE or FAILED) since start. */
    long finished(State state) {
        return state == State.FAILED ? failedCount.get() : state == State.DONE ? doneCount.get() : 0;
    }

    /** Every job kept, oldest first, as documents. */
    synchronized List<Map<String, Object>> documents() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Job j : jobs.values()) {
            out.add(j.document());
        }
        return out;
    }

    @Override
    public void close() {
        // Let a short job end; a long rollback is interrupted and finished by the next start (its phases persist).
        executor.shutdown();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        executor.shutdownNow();
    }
}
