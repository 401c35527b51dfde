package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mtagent disks} on the recorded VM tree of the native module (sysfs, mountinfo, by-id). */
class DisksCommandTest {
    /** The recorded tree, read from the sibling module's sources (Maven runs tests from the module directory). */
    private static final Path RECORDED = Path.of("../native/src/test/resources/recorded-vm");

    @TempDir
    Path dir;

    @Test
    void listsStableIdsSizesAndWarningsOffline() throws Exception {
        assumeTrue(Files.isDirectory(RECORDED), "recorded tree not found at " + RECORDED.toAbsolutePath());
        Path tree = materialize(dir.resolve("vm"));
        Path conf = dir.resolve("a.properties");
        Files.writeString(conf, "state.dir=/var/lib/mtagent/state\ncache.dir=/mnt/retention/mtagent-cache\n");
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = MtAgentCli.execute("disks", "--config", conf.toString(), "--sysfs", tree.resolve("sys").toString(),
                    "--mountinfo", tree.resolve("proc/self/mountinfo").toString(),
                    "--by-id", tree.resolve("dev/disk/by-id").toString());
        } finally {
            System.setOut(saved);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.print(out);
        assertThat(code).isZero();
        assertThat(out).contains("sdc       20.0 GiB  sectors 4096/4096  rotational  controller vmw_pvscsi  vmware\n")
                .contains("id: wwn-0x6000c2933333333333333333333333c3  -> /dev/disk/by-id/wwn-0x6000c2933333333333333333333333c3")
                .contains("WARNING: on a VMware paravirtual SCSI controller (vmw_pvscsi)")
                .contains("disk.EnableUUID=true")
                .contains("mounted: /, /boot (system/boot)")
                .contains("holds the agent's cache (/mnt/retention/mtagent-cache)")
                .contains("4 disk(s) attached, 2 in use, 2 usable as targets (classic master target limit: 60 disks)")
                .doesNotContain("loop0").doesNotContain("sr0");
        assertThat(out.lines().filter(l -> l.startsWith("sdd")).findFirst().orElseThrow()).doesNotContain("IN USE");
        assertThat(out.lines().filter(l -> l.startsWith("sdb")).findFirst().orElseThrow()).contains("IN USE");
    }

    /**
     * A KVM guest's virtio disk without a serial gets the libvirt/QEMU fix, not VMware's; {@code --json} lists the
     * same with the platform and the format version.
     */
    @Test
    void adviceFitsTheHypervisorAndJsonListsTheSame() throws Exception {
        Path sys = dir.resolve("kvm/sys");
        Path vda = Files.createDirectories(sys.resolve("block/vda"));
        Files.writeString(vda.resolve("size"), "20971520\n"); // 10 GiB
        Files.writeString(vda.resolve("dev"), "252:0\n");
        Files.createDirectories(vda.resolve("queue"));
        Files.writeString(vda.resolve("queue/logical_block_size"), "512\n");
        Files.writeString(vda.resolve("queue/physical_block_size"), "512\n");
        Files.writeString(vda.resolve("queue/rotational"), "1\n");
        Path driver = Files.createDirectories(sys.resolve("bus/virtio/drivers/virtio_blk"));
        Files.createDirectories(vda.resolve("device"));
        Files.createSymbolicLink(vda.resolve("device/driver"), driver);
        Files.createDirectories(sys.resolve("class/dmi/id"));
        Files.writeString(sys.resolve("class/dmi/id/sys_vendor"), "QEMU\n");
        Path mountinfo = Files.writeString(dir.resolve("kvm/mountinfo"), "");
        Path byId = Files.createDirectories(dir.resolve("kvm/by-id"));
        Path conf = Files.writeString(dir.resolve("a.properties"), "state.dir=" + dir.resolve("s") + "\n");
        String[] args = {"disks", "--config", conf.toString(), "--sysfs", sys.toString(), "--mountinfo",
            mountinfo.toString(), "--by-id", byId.toString()};
        Captured text = Captured.run(args);
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).contains("vda", "controller virtio_blk  kvm", "<serial>ID</serial>", "virtio-blk-pci,serial=ID")
                .doesNotContain("EnableUUID");
        String[] withJson = Arrays.copyOf(args, args.length + 1);
        withJson[args.length] = "--json";
        Captured json = Captured.run(withJson);
        JsonNode doc = new ObjectMapper().readTree(json.out());
        assertThat(doc.path("version").asInt()).isEqualTo(1);
        assertThat(doc.path("disks").get(0).path("name").asText()).isEqualTo("vda");
        assertThat(doc.path("disks").get(0).path("platform").asText()).isEqualTo("kvm");
        assertThat(doc.path("disks").get(0).path("sizeBytes").asLong()).isEqualTo(10L << 30);
        assertThat(doc.path("disks").get(0).path("warnings").get(0).asText()).contains("<serial>");
    }

    @Test
    void helpTeachesStableIds() {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(MtAgentCli.execute("disks", "--help")).isZero();
        } finally {
            System.setOut(saved);
        }
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("/dev/disk/by-id/<id>").contains("disk.EnableUUID=true on the VM");
    }

    private static Path materialize(Path to) throws Exception {
        try (Stream<Path> files = Files.walk(RECORDED)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path t = to.resolve(RECORDED.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        Path byId = Files.createDirectories(to.resolve("dev/disk/by-id"));
        for (String line : Files.readAllLines(to.resolve("by-id.links"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] f = line.trim().split("\\s+");
                Files.createSymbolicLink(byId.resolve(f[0]), Path.of(f[1]));
            }
        }
        return to;
    }
}
