package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * Keeps the worked example of SPEC.md §11 honest: builds every example frame with the real encoder, computes the SCRAM keys
 * and both proofs with {@link HandshakeCrypto}, renders the annotated hex listings and asserts they are exactly the
 * fenced blocks in SPEC.md (each block follows a {@code <!-- example:NAME -->} marker). The bytes of every listing
 * come from the encoder; the annotations name the fields in the order of SPEC.md §5 and the listing fails if the
 * widths do not add up to the frame. Each frame is also decoded back and compared.
 *
 * <p>After an intended change to the example, run with {@code -Dmtagent.spec.regenerate=true} to rewrite the blocks
 * in place, then review the diff of SPEC.md.
 */
class SpecExampleTest {
    static final String PASSPHRASE = "correct horse battery staple";
    static final long CLIENT_TIME = Instant.parse("2025-11-23T10:00:00Z").getEpochSecond() * 1_000_000L;
    static final long AGENT_TIME = CLIENT_TIME + 2_500;
    static final String DISK_ID = "6000c29a1b2c3d4e5f60718293a4b5c6";
    static final int CAP = Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES);

    private static final Pattern BLOCK = Pattern.compile("<!-- example:([A-Za-z_]+) -->\\n```text\\n(.*?)```\\n",
            Pattern.DOTALL);

    @Test
    void specExampleMatchesTheCode() throws IOException {
        Map<String, String> expected = render();
        Path spec = specPath();
        String text = Files.readString(spec, StandardCharsets.UTF_8);
        if (Boolean.getBoolean("mtagent.spec.regenerate")) {
            Matcher m = BLOCK.matcher(text);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String body = expected.get(m.group(1));
                assertThat(body).as("no generated block for marker " + m.group(1)).isNotNull();
                m.appendReplacement(sb, Matcher.quoteReplacement(
                        "<!-- example:" + m.group(1) + " -->\n```text\n" + body + "```\n"));
            }
            m.appendTail(sb);
            text = sb.toString();
            Files.writeString(spec, text, StandardCharsets.UTF_8);
        }
        Map<String, String> actual = new LinkedHashMap<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            assertThat(actual.put(m.group(1), m.group(2))).as("duplicate block " + m.group(1)).isNull();
        }
        assertThat(actual.keySet()).as("example blocks in SPEC.md").containsExactlyElementsOf(expected.keySet());
        for (Map.Entry<String, String> e : expected.entrySet()) {
            assertEquals(e.getValue(), actual.get(e.getKey()), "SPEC.md example block '" + e.getKey()
                    + "' differs from the code (-Dmtagent.spec.regenerate=true rewrites it)");
        }
    }

    /** The hex digits of each block, read the way a reader would (first column only), are the wire bytes. */
    @Test
    void hexColumnsOfTheSpecDecodeToTheExampleFrames() throws IOException {
        String text = Files.readString(specPath(), StandardCharsets.UTF_8);
        Matcher m = BLOCK.matcher(text);
        int frames = 0;
        while (m.find()) {
            if (m.group(1).equals("values")) {
                continue;
            }
            ByteBuf wire = Unpooled.buffer();
            for (String line : m.group(2).split("\n")) {
                String hex = line.length() > 48 ? line.substring(0, 48) : line;
                wire.writeBytes(HexFormat.of().parseHex(hex.replace(" ", "")));
            }
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(CAP));
            assertTrue(ch.writeInbound(wire), m.group(1));
            Frame f = ch.readInbound();
            assertEquals(m.group(1), f.type().name());
            io.netty.util.ReferenceCountUtil.release(f);
            assertFalse(ch.finish());
            frames++;
        }
        assertEquals(9, frames);
    }

    static Path specPath() {
        String basedir = System.getProperty("basedir", System.getProperty("user.dir"));
        return Path.of(basedir).resolve("SPEC.md");
    }

    /** All example blocks, in document order. */
    static Map<String, String> render() {
        byte[] clientNonce = SampleFrames.pattern(32, 0x00);
        byte[] serverNonce = SampleFrames.pattern(32, 0x80);
        byte[] salt = SampleFrames.pattern(16, 0xA0);
        byte[] fingerprint = SampleFrames.pattern(32, 0xC0);
        int iterations = 10_000;
        byte[] k = HandshakeCrypto.deriveKey(PASSPHRASE.toCharArray(), salt, iterations);
        byte[] clientProof = HandshakeCrypto.clientProof(k, clientNonce, serverNonce, fingerprint);
        byte[] serverProof = HandshakeCrypto.serverProof(k, clientNonce, serverNonce, fingerprint);
        byte[] data = new byte[512];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        CRC32C c = new CRC32C();
        c.update(data);
        int crc = (int) c.getValue();

        Map<String, String> out = new LinkedHashMap<>();
        Listing v = new Listing(null);
        v.value("passphrase", "\"" + PASSPHRASE + "\" (UTF-8, 28 bytes)");
        v.value("salt", hex(salt) + " (16 bytes)");
        v.value("iterations", "10000");
        v.value("clientNonce", hex(clientNonce));
        v.value("serverNonce", hex(serverNonce));
        v.value("fingerprint", hex(fingerprint) + "  (SHA-256 of the agent certificate's DER, as C saw it)");
        v.value("SaltedPassword", hex(k) + "  = PBKDF2-HMAC-SHA256(passphrase, salt, 10000, 32)");
        v.value("ClientKey", hex(HandshakeCrypto.clientKey(k)) + "  = HMAC-SHA256(SaltedPassword, \"Client Key\")");
        v.value("StoredKey", hex(HandshakeCrypto.storedKey(k)) + "  = SHA-256(ClientKey)");
        v.value("ServerKey", hex(HandshakeCrypto.serverKey(k)) + "  = HMAC-SHA256(SaltedPassword, \"Server Key\")");
        v.value("clientProof", hex(clientProof) + "  = ClientKey XOR HMAC-SHA256(StoredKey, AuthMessage)");
        v.value("serverProof", hex(serverProof) + "  = HMAC-SHA256(ServerKey, AuthMessage)");
        v.value("data", "512 bytes, data[i] = i mod 256 (00 01 02 ... fe ff 00 01 ... fe ff)");
        v.value("crc32c(data)", String.format("0x%08x", crc));
        out.put("values", v.text());

        out.put("HELLO", listing(new Frames.Hello(Protocol.MAGIC, 1, 1, clientNonce, CLIENT_TIME, "ps-01"), l -> l
                .u8("type = 0x01 HELLO")
                .n(4, "magic = 0x4d544132 \"MTA2\"")
                .n(2, "minVersion = 1")
                .n(2, "maxVersion = 1")
                .bytes(32, "clientNonce")
                .n(8, "clientTimeMicros = " + CLIENT_TIME + " (2025-11-23T10:00:00Z)")
                .str("clientName", "ps-01")));
        out.put("CHALLENGE", listing(new Frames.Challenge(1, serverNonce, salt, iterations, AGENT_TIME, "mt-agent-01"), l -> l
                .u8("type = 0x02 CHALLENGE")
                .n(2, "version = 1")
                .bytes(32, "serverNonce")
                .n(1, "saltLen = 16")
                .bytes(16, "salt")
                .n(4, "iterations = 10000")
                .n(8, "serverTimeMicros = " + AGENT_TIME + " (agent clock 2.5 ms ahead)")
                .str("agentName", "mt-agent-01")));
        out.put("AUTH_PROOF", listing(new Frames.AuthProof(clientProof), l -> l
                .u8("type = 0x03 AUTH_PROOF")
                .bytes(32, "proof = clientProof")));
        out.put("AUTH_OK", listing(new Frames.AuthOk(serverProof, CAP, Protocol.DEFAULT_MAX_WRITE_BYTES, 42), l -> l
                .u8("type = 0x04 AUTH_OK")
                .bytes(32, "serverProof")
                .n(4, "maxFrameLength = " + CAP + " (1 + 37 + 1 MiB)")
                .n(4, "maxWriteBytes = 1048576 (1 MiB)")
                .n(8, "sessionId = 42")));
        out.put("OPEN_DISK", listing(new Frames.OpenDisk(1, 1, 0, DISK_ID), l -> l
                .u8("type = 0x10 OPEN_DISK")
                .n(4, "handle = 1")
                .n(8, "epoch = 1")
                .n(8, "oldestSeq = 0 (C holds nothing to re-send)")
                .str("diskId", DISK_ID)));
        out.put("DISK_OPENED", listing(new Frames.DiskOpened(1, 10L << 30, 512, DiskState.PROTECTED, 0, 0, 8 << 20), l -> l
                .u8("type = 0x11 DISK_OPENED")
                .n(4, "handle = 1")
                .n(8, "sizeBytes = 10737418240 (10 GiB)")
                .n(4, "sectorSize = 512")
                .n(1, "state = 1 protected")
                .n(8, "lastDurableSeq = 0 (nothing yet: C starts at seq 1)")
                .n(8, "appliedSeq = 0")
                .n(4, "credit = 8388608 (8 MiB)")));
        WriteFrame w = new WriteFrame(1, 1, CLIENT_TIME + 1_000_000, 1 << 20, 512, crc, 0, Unpooled.wrappedBuffer(data));
        out.put("WRITE", listing(w, l -> {
            l.u8("type = 0x20 WRITE")
                    .n(4, "handle = 1")
                    .n(8, "seq = 1")
                    .n(8, "timestampMicros = " + (CLIENT_TIME + 1_000_000) + " (2025-11-23T10:00:01Z)")
                    .n(8, "offset = 1048576 (1 MiB)")
                    .n(4, "length = 512")
                    .n(4, String.format("crc32c = 0x%08x", crc))
                    .n(1, "flags = 0 (raw data)")
                    .bytes(512, "data");
        }));
        out.put("ACK", listing(new Frames.Ack(1, 1), l -> l
                .u8("type = 0x30 ACK")
                .n(4, "handle = 1")
                .n(8, "ackedSeq = 1")));
        out.put("CREDIT", listing(new Frames.Credit(1, 554), l -> l
                .u8("type = 0x31 CREDIT")
                .n(4, "handle = 1")
                .n(4, "bytes = 554 (the WRITE's cost: 4 + 550)")));
        return out;
    }

    /** Encodes {@code f} with the pipeline encoder, checks it decodes back, and annotates its bytes. */
    private static String listing(Frame f, java.util.function.Consumer<Listing> fields) {
        Frame expectedCopy = f;
        byte[] dataCopy = f instanceof WriteFrame w ? ByteBufUtil.getBytes(w.data()) : null;
        String wString = f.toString();
        byte[] wire = SampleFrames.encode(f); // releases a WRITE
        // Decode back.
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(CAP));
        ch.writeInbound(Unpooled.wrappedBuffer(wire));
        Frame back = ch.readInbound();
        if (back instanceof WriteFrame bw) {
            assertEquals(wString, bw.toString());
            assertThat(ByteBufUtil.getBytes(bw.data())).isEqualTo(dataCopy);
            bw.release();
        } else {
            assertThat(back).usingRecursiveComparison().isEqualTo(expectedCopy);
        }
        assertFalse(ch.finish());

        Listing l = new Listing(wire);
        l.n(4, "length = " + (wire.length - 4) + " (type + body)");
        fields.accept(l);
        return l.text();
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** Renders bytes 16 per line, hex column padded to 48 characters, then the annotation. */
    static final class Listing {
        private final byte[] wire;
        private int pos;
        private final List<String> lines = new ArrayList<>();

        Listing(byte[] wire) {
            this.wire = wire;
        }

        Listing u8(String note) {
            return n(1, note);
        }

        /** A field of {@code width} bytes on one line. */
        Listing n(int width, String note) {
            line(take(width), note);
            return this;
        }

        /** A byte array field, 16 bytes per line; {@code name[a..b]} on each line. */
        Listing bytes(int width, String name) {
            byte[] b = take(width);
            for (int i = 0; i < b.length; i += 16) {
                int end = Math.min(b.length, i + 16);
                byte[] part = java.util.Arrays.copyOfRange(b, i, end);
                line(part, width <= 16 ? name : name + " [" + i + ".." + (end - 1) + "]");
            }
            return this;
        }

        /** A {@code str}: u16 length, then the UTF-8 bytes. */
        Listing str(String name, String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            n(2, name + " length = " + utf8.length);
            byte[] b = take(utf8.length);
            assertThat(b).isEqualTo(utf8);
            for (int i = 0; i < b.length; i += 16) {
                int end = Math.min(b.length, i + 16);
                String part = new String(b, i, end - i, StandardCharsets.UTF_8);
                line(java.util.Arrays.copyOfRange(b, i, end), i == 0 && end == b.length
                        ? name + " = \"" + part + "\""
                        : name + " [" + i + ".." + (end - 1) + "] \"" + part + "\"");
            }
            return this;
        }

        void value(String name, String text) {
            lines.add(String.format("%-14s %s", name, text));
        }

        private byte[] take(int n) {
            assertThat(pos + n).as("field widths overrun the frame").isLessThanOrEqualTo(wire.length);
            byte[] b = java.util.Arrays.copyOfRange(wire, pos, pos + n);
            pos += n;
            return b;
        }

        private void line(byte[] b, String note) {
            StringBuilder sb = new StringBuilder();
            for (byte x : b) {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(String.format("%02x", x & 0xff));
            }
            while (sb.length() < 48) {
                sb.append(' ');
            }
            lines.add(sb + " " + note);
        }

        String text() {
            if (wire != null) {
                assertEquals(wire.length, pos, "field widths do not add up to the frame");
            }
            return String.join("\n", lines) + "\n";
        }
    }
}
