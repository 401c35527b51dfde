package io.mtagent.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cCombineTest {
    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    @Test
    void combiningTheCrcsOfTwoPartsIsTheCrcOfTheWhole() {
        Random rnd = new Random(20261123);
        for (int i = 0; i < 2_000; i++) {
            // Lengths from 0 to 128 KiB, biased to the small and the record-shaped (a 64-byte header).
            int total = i % 4 == 0 ? rnd.nextInt(1 << 17) : rnd.nextInt(300);
            byte[] b = new byte[total];
            rnd.nextBytes(b);
            int split = total == 0 ? 0 : rnd.nextInt(total + 1);
            int whole = crc(b, 0, total);
            int combined = Crc32cCombine.combine(crc(b, 0, split), crc(b, split, total - split), total - split);
            assertEquals(whole, combined, "total " + total + " split at " + split);
        }
    }

    @Test
    void aKnownVectorAndTheEdges() {
        byte[] digits = "123456789".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, crc(digits, 0, 9)); // the CRC-32C check value
        assertEquals(0xE3069283, Crc32cCombine.combine(crc(digits, 0, 4), crc(digits, 4, 5), 5));
        assertEquals(0xE3069283, Crc32cCombine.combine(crc(digits, 0, 9), 0, 0)); // B empty: crc(empty) == 0
        assertEquals(0xE3069283, Crc32cCombine.combine(0, crc(digits, 0, 9), 9)); // A empty
        // The length matters: the same CRCs with the wrong length of B give another value.
        assertNotEquals(0xE3069283, Crc32cCombine.combine(crc(digits, 0, 4), crc(digits, 4, 5), 6));
        assertThrows(IllegalArgumentException.class, () -> Crc32cCombine.combine(1, 2, -1));
    }

    @Test
    void largeLengthsAgreeWithZerosAppended() {
        // combine(crcA, crc(n zeros), n) is crc(A followed by n zeros), for n up to 16 MiB (the largest payload).
        byte[] a = {1, 2, 3, 4, 5};
        for (int n : new int[] {1, 511, 4096, 65_536, 1 << 20, 16 << 20}) {
            byte[] whole = new byte[a.length + n];
            System.arraycopy(a, 0, whole, 0, a.length);
            assertEquals(crc(whole, 0, whole.length),
                    Crc32cCombine.combine(crc(a, 0, a.length), crc(new byte[n], 0, n), n), "n=" + n);
        }
    }
}
