package io.mtagent.protocol;

/**
 * CRC-32C of a concatenation from the CRC-32C of its parts: {@code crc(A ‖ B) == combine(crc(A), crc(B), |B|)},
 * for the standard CRC-32C that {@link java.util.zip.CRC32C} computes (reflected polynomial 0x82F63B78, initial
 * value and final xor 0xFFFFFFFF).
 *
 * <p>Why: a stored record's CRC covers its header and its payload, and the payload's own CRC-32C is already known
 * (the session verified it against the frame, or the reader just computed it). Combining the two costs a few
 * hundred integer operations instead of a second pass over every payload byte, without changing what is on disk.
 * The JDK has no combine and the project's libraries none for CRC-32C; this is the method of zlib's
 * {@code crc32_combine} (multiplication modulo the CRC polynomial by x^(8·len)), written for this polynomial.
 *
 * <p>Stateless and thread-safe.
 */
public final class Crc32cCombine {
    /** CRC-32C's polynomial, bit-reflected. */
    private static final int POLY = 0x82F63B78;
    /** X2N[k] = x^(2^k) modulo the polynomial, reflected. */
    private static final int[] X2N = new int[32];

    static {
        int p = 1 << 30; // x^1
        X2N[0] = p;
        for (int k = 1; k < X2N.length; k++) {
            p = multModP(p, p);
            X2N[k] = p;
        }
    }

    private Crc32cCombine() {
    }

    /**
     * The CRC-32C of A followed by B.
     *
     * @param crcA CRC-32C of A
     * @param crcB CRC-32C of B
     * @param lengthB bytes in B (0 or more)
     */
    public static int combine(int crcA, int crcB, long lengthB) {
        if (lengthB < 0) {
            throw new IllegalArgumentException("negative length " + lengthB);
        }
        return multModP(x2nModP(lengthB, 3), crcA) ^ crcB;
    }

    /** a × b modulo the polynomial (both reflected). */
    private static int multModP(int a, int b) {
        int m = 1 << 31;
        int p = 0;
        while (true) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) {
                    break;
                }
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return p;
    }

    /** x^(n · 2^k) modulo the polynomial: with k = 3, the operator that appends n zero bytes. */
    private static int x2nModP(long n, int k) {
        int p = 1 << 31; // x^0
        while (n != 0) {
            if ((n & 1) != 0) {
                p = multModP(X2N[k & 31], p);
            }
            n >>>= 1;
            k++;
        }
        return p;
    }
}
