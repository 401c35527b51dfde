package io.mtagent.agent.ingest;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Thread pools for per-disk work that runs in bursts: an ingest log's group commit, an applier's apply loop, a
 * batch's target writes. {@link #create}: unbounded and without a queue, so a task always gets a thread at once
 * and a slow or hung disk never delays another disk (for tasks that may wait on each other or for long);
 * {@link #bounded}: a fixed most, for tasks that never wait on another disk's. Threads end after 10 s idle. With hundreds of disks only the busy ones hold a
 * thread at a time: a dedicated thread per disk and per job was 512 thread stacks (about 54 MiB resident) with
 * 256 disks (bench/RESULTS.md, many-disks RSS).
 *
 * <p>A disk's tasks keep their own one-at-a-time rule (a {@code scheduled} flag under the disk's lock); the pool
 * only lends threads. Threads are daemons: a pool never keeps the JVM alive.
 */
public final class DiskTaskPool {
    private DiskTaskPool() {
    }

    /**
     * A pool of at most {@code threads} threads with a queue behind them, for tasks that never wait for another
     * disk's task (an ingest log's group commit): a stall of the device then holds {@code threads} threads, not
     * one per disk. A task that has more work should hand its thread over when others wait
     * ({@link #othersWaiting}) so that every disk gets its turn.
     */
    public static ThreadPoolExecutor bounded(String prefix, int threads) {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 10, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), task -> {
                    Thread t = new Thread(task, prefix + "-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** True when tasks of {@code pool} wait for a thread (a task with more to do should requeue itself). */
    public static boolean othersWaiting(ThreadPoolExecutor pool) {
        return !pool.getQueue().isEmpty();
    }

    /** A new pool whose idle threads are named {@code <prefix>-<n>} (a running task may rename its thread). */
    public static ExecutorService create(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
            Thread t = new Thread(task, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code body} with the current thread named {@code name} (thread dumps and profiles show whose work a
     * pooled thread is doing), then gives the pooled name back.
     */
    public static void runNamed(String name, Runnable body) {
        Thread me = Thread.currentThread();
        String pooled = me.getName();
        me.setName(name);
        try {
            body.run();
        } finally {
            me.setName(pooled);
        }
    }
}
