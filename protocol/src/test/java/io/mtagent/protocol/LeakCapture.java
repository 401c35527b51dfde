package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Turns Netty's leak reports into test failures. Netty's {@link ResourceLeakDetector} reports a leak by logging an
 * ERROR ("LEAK: ...") when a tracked buffer is garbage-collected without having been released; the report only
 * happens the next time a buffer is tracked. {@link #assertNoLeaks()} therefore forces GCs and allocates tracked
 * buffers until the reference queue has been drained, then fails if any report was logged.
 *
 * <p>The detector itself is created once per JVM (a static of {@code AbstractByteBuf}), so a custom
 * {@code ResourceLeakDetectorFactory} would be ignored whenever another test class loaded buffers first; the
 * logger is looked up by name and works regardless of class-loading order. The test classpath has no SLF4J or
 * Log4j, so Netty logs through java.util.logging; {@link #install()} checks that.
 */
final class LeakCapture extends Handler {
    private static final String LOGGER = ResourceLeakDetector.class.getName();
    private final List<String> reports = new CopyOnWriteArrayList<>();
    private ResourceLeakDetector.Level previousLevel;

    void install() {
        if (!(InternalLoggerFactory.getDefaultFactory() instanceof JdkLoggerFactory)) {
            throw new IllegalStateException("Netty does not log through java.util.logging here: "
                    + InternalLoggerFactory.getDefaultFactory());
        }
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        Logger.getLogger(LOGGER).addHandler(this);
    }

    void uninstall() {
        Logger.getLogger(LOGGER).removeHandler(this);
        ResourceLeakDetector.setLevel(previousLevel);
    }

    @Override
    public void publish(LogRecord record) {
        String msg = record.getMessage();
        if (msg != null && msg.contains("LEAK")) {
            reports.add(msg);
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }

    /** Collects garbage and drains the detector's queue; fails on any LEAK report seen so far. */
    void assertNoLeaks() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20); // lets the collector enqueue what it found; nothing to wait on instead
            // Tracking a new buffer is what makes the detector poll its reference queue and report.
            for (int j = 0; j < 100; j++) {
                ByteBuf a = UnpooledByteBufAllocator.DEFAULT.heapBuffer(8);
                a.release();
                ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8);
                b.release();
            }
        }
        if (!reports.isEmpty()) {
            throw new AssertionError(reports.size() + " buffer leak(s) reported by Netty:\n" + reports.get(0));
        }
    }
}
