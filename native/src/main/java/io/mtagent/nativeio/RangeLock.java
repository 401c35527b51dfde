package io.mtagent.nativeio;

import java.util.ArrayList;
import java.util.List;

/**
 * Mutual exclusion on byte ranges of one device. A read-modify-write of a 4096-byte sector for a 512-byte write
 * must not interleave with another write into the same sector, or one of the two writes is lost; writes to
 * disjoint sectors run in parallel. Callers lock the sector-rounded range.
 *
 * <p>Thread-safe; not reentrant (a thread holding a range that overlaps its new request deadlocks), and the
 * device never nests locks.
 */
final class RangeLock {
    private final List<long[]> held = new ArrayList<>();

    /** Blocks until [start, end) overlaps no held range, then holds it. */
    synchronized void lock(long start, long end) throws InterruptedException {
        while (overlaps(start, end)) {
            wait();
        }
        held.add(new long[] {start, end});
    }

    /** Like {@link #lock} but keeps waiting through interrupts and re-asserts the interrupt afterwards. */
    void lockUninterruptibly(long start, long end) {
        boolean interrupted = false;
        while (true) {
            try {
                lock(start, end);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    synchronized void unlock(long start, long end) {
        for (int i = 0; i < held.size(); i++) {
            long[] r = held.get(i);
            if (r[0] == start && r[1] == end) {
                held.remove(i);
                notifyAll();
                return;
            }
        }
        throw new IllegalStateException("range [" + start + ", " + end + ") is not held");
    }

    private boolean overlaps(long start, long end) {
        for (long[] r : held) {
            if (start < r[1] && r[0] < end) {
                return true;
            }
        }
        return false;
    }
}
