package io.mtagent.nativeio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a target given as a VMDK to the raw data mtagent writes: a descriptor of a flat disk
 * ({@code createType="monolithicFlat"} or {@code "vmfs"}, one {@code FLAT}/{@code VMFS} extent at offset 0) is
 * followed to its {@code -flat.vmdk} extent; sparse disks (a {@code KDMV} header, or a descriptor of
 * {@code SPARSE}/{@code VMFSSPARSE} extents, stream-optimized, split or snapshot disks) are refused with what to do,
 * because writing raw blocks into them would corrupt them. Any other path is returned unchanged.
 *
 * <p>Descriptor grammar used (VMware Virtual Disk Format 5.0): lines {@code key = "value"}, and extent lines
 * {@code ACCESS SECTORS TYPE "FILE" [OFFSET]}.
 */
public final class VmdkTarget {
    /** Descriptors are small text files; anything larger is not one (and is not read into memory). */
    static final int MAX_DESCRIPTOR = 64 << 10;
    private static final Pattern EXTENT = Pattern.compile(
            "^\\s*(RW|RDONLY|NOACCESS)\\s+(\\d+)\\s+(\\w+)\\s+\"([^\"]+)\"(?:\\s+(\\d+))?\\s*$");
    private static final Pattern CREATE_TYPE = Pattern.compile("^\\s*createType\\s*=\\s*\"([^\"]*)\"");
    private static final Pattern PARENT = Pattern.compile("^\\s*parentCID\\s*=\\s*([0-9a-fA-F]+)");

    private VmdkTarget() {
    }

    /** The path to open for {@code target}: the flat extent of a flat-disk descriptor, else {@code target}. */
    public static Path resolve(Path target) throws IOException {
        String name = target.getFileName() == null ? "" : target.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".vmdk") || !Files.isRegularFile(target)) {
            return target;
        }
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(target)) {
            n = in.readNBytes(head, 0, 4);
        }
        if (n == 4 && head[0] == 'K' && head[1] == 'D' && head[2] == 'M' && head[3] == 'V') {
            throw refuse(target, "it is a sparse (hosted/monolithicSparse or streamOptimized) VMDK");
        }
        if (Files.size(target) > MAX_DESCRIPTOR) {
            return target; // a -flat.vmdk extent itself: raw data, written as it is
        }
        String text = Files.readString(target, StandardCharsets.ISO_8859_1);
        if (!text.contains("# Disk DescriptorFile") && !CREATE_TYPE.matcher(text).find()) {
            return target; // a small raw file that happens to end in .vmdk
        }
        String createType = null;
        List<String[]> extents = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            Matcher c = CREATE_TYPE.matcher(line);
            if (c.find()) {
                createType = c.group(1);
            }
            Matcher p = PARENT.matcher(line);
            if (p.find() && !p.group(1).equalsIgnoreCase("ffffffff")) {
                throw refuse(target, "it is a snapshot (delta) disk with a parent; consolidate the snapshots first");
            }
            Matcher e = EXTENT.matcher(line);
            if (e.matches()) {
                extents.add(new String[] {e.group(3), e.group(4), e.group(5) == null ? "0" : e.group(5)});
            }
        }
        if (extents.size() != 1) {
            throw refuse(target, "it has " + extents.size() + " extents (createType \"" + createType
                    + "\"); only a single flat extent is supported (convert with vmkfstools -i ... -d eagerzeroedthick)");
        }
        String[] ext = extents.get(0);
        String type = ext[0].toUpperCase(Locale.ROOT);
        if (!type.equals("FLAT") && !type.equals("VMFS")) {
            throw refuse(target, "its extent is " + type + " (createType \"" + createType + "\")");
        }
        if (!ext[2].equals("0")) {
            throw refuse(target, "its flat extent starts at sector " + ext[2] + ", not 0");
        }
        Path flat = target.resolveSibling(ext[1]);
        if (!Files.exists(flat)) {
            throw new IOException("VMDK descriptor " + target + " names the flat extent " + flat
                    + ", which does not exist; copy the -flat.vmdk next to the descriptor or configure the extent directly");
        }
        return flat;
    }

    private static IOException refuse(Path target, String why) {
        return new IOException("cannot use " + target + " as a target: " + why + ". mtagent writes raw blocks and "
                + "needs a raw device or a flat image; convert it (e.g. 'vmkfstools -i src.vmdk -d eagerzeroedthick "
                + "dst.vmdk' or 'qemu-img convert -O raw src.vmdk dst.img') and configure the result");
    }
}
