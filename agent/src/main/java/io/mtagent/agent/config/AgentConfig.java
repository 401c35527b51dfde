package io.mtagent.agent.config;

import static io.mtagent.agent.config.AgentConfigKeys.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The agent's validated, typed configuration: a {@code java.util.Properties} file and command-line overrides read
 * through the {@link AgentConfigKeys} table, then checked across keys (credit window against write size, unique
 * disk ids and paths, ...). Loading fails with a {@link ConfigException} listing every problem; an
 * {@code AgentConfig} that exists is usable.
 *
 * <p>Immutable and thread-safe.
 */
public final class AgentConfig {
    private static final String COMMAND_LINE = "command line";
    private static final long EMBEDDED_DISK_BYTES = 64L * 1024 * 1024;

    private final ConfigValues values;
    private final String agentName;
    private final List<DiskConfig> disks;
    private Path sourceFile;

    private AgentConfig(ConfigValues values) {
        this.values = values;
        String name = values.get(AGENT_NAME);
        this.agentName = name != null ? name : LocalHostName.get();
        List<String> problems = new ArrayList<>();
        this.disks = disks(values, problems);
        checkAcrossKeys(problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /**
     * Reads {@code file}, then applies {@code overrides} (command-line flags) on top.
     *
     * @throws ConfigException if the file cannot be read or anything in it or in the overrides is wrong
     */
    public static AgentConfig load(Path file, Map<String, String> overrides) {
        List<Setting> settings = new ArrayList<>(PropertiesSource.read(file));
        settings.addAll(settings(overrides, COMMAND_LINE));
        AgentConfig config = new AgentConfig(DEF.parse(settings));
        config.sourceFile = file;
        return config;
    }

    /** The file this configuration was read from (the control API's disk rescan re-reads it), if any. */
    public Optional<Path> sourceFile() {
        return Optional.ofNullable(sourceFile);
    }

    /** A configuration from settings alone (no file), e.g. command-line flags; unset keys take their defaults. */
    public static AgentConfig of(Map<String, String> settings) {
        return new AgentConfig(DEF.parse(settings(settings, COMMAND_LINE)));
    }

    /**
     * The zero-setup configuration of {@code mtagent demo} and of a first {@code mtagent run} without a file:
     * everything under {@code baseDir/mtagent-data} ({@code state}, {@code cache}, {@code disks}), two 64 MiB
     * file-backed disks {@code disk0} and {@code disk1}, listening on {@code 127.0.0.1:9443} only.
     */
    public static AgentConfig embeddedDefault(Path baseDir) {
        return embeddedDefault(baseDir, Map.of());
    }

    /** {@link #embeddedDefault(Path)} with command-line overrides on top. */
    public static AgentConfig embeddedDefault(Path baseDir, Map<String, String> overrides) {
        Path data = baseDir.resolve("mtagent-data");
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put(DATA_LISTEN.name(), "127.0.0.1:9443");
        defaults.put(STATE_DIR.name(), data.resolve("state").toString());
        defaults.put(CACHE_DIR.name(), data.resolve("cache").toString());
        defaults.put(RETENTION_DIR.name(), data.resolve("retention").toString());
        defaults.put(EXPORT_DIRS.name(), data.resolve("exports").toString());
        defaults.put(RETENTION_ALLOW_SHARED_VOLUME.name(), "true"); // one folder for everything, on purpose
        for (String disk : List.of("disk0", "disk1")) {
            defaults.put(DISKS.fullName(disk, DISK_PATH), data.resolve("disks").resolve(disk + ".img").toString());
            defaults.put(DISKS.fullName(disk, DISK_SIZE), Units.formatSize(EMBEDDED_DISK_BYTES));
        }
        List<Setting> settings = new ArrayList<>(settings(defaults, "embedded default"));
        settings.addAll(settings(overrides, COMMAND_LINE));
        return new AgentConfig(DEF.parse(settings));
    }

    /** The table of all settings with defaults and documentation ({@code mtagent run --help-config}). */
    public static String renderHelp() {
        return DEF.renderHelp();
    }

    public String agentName() {
        return agentName;
    }

    public HostPort dataListen() {
        return values.get(DATA_LISTEN);
    }

    /** True only when explicitly configured; the caller must log a loud warning. */
    public boolean dataInsecurePlaintext() {
        return values.get(DATA_INSECURE_PLAINTEXT);
    }

    /** At most 16 MiB, so an {@code int}. */
    public int dataMaxWriteBytes() {
        return Math.toIntExact(values.get(DATA_MAX_WRITE_BYTES));
    }

    public long dataCreditWindowBytes() {
        return values.get(DATA_CREDIT_WINDOW_BYTES);
    }

    /** The configured cap; 0 means automatic, see {@link #dataMemoryMaxBytesFor}. */
    public long dataMemoryMaxBytes() {
        return values.get(DATA_MEMORY_MAX_BYTES);
    }

    /**
     * The effective cap given the JVM's maximum heap: the configured one, or an eighth of the heap between 16 and
     * 64 MiB (the rule the applier's direct payload budget follows): an operator who gives the agent a small heap
     * for hundreds of quiet disks gets a small in-memory window with it.
     */
    public long dataMemoryMaxBytesFor(long maxHeapBytes) {
        long configured = dataMemoryMaxBytes();
        return configured != 0 ? configured : Math.min(64L << 20, Math.max(16L << 20, maxHeapBytes / 8));
    }

    public Duration dataIdleTimeout() {
        return values.get(DATA_IDLE_TIMEOUT);
    }

    public Path stateDir() {
        return values.get(STATE_DIR);
    }

    public Path cacheDir() {
        return values.get(CACHE_DIR);
    }

    /** The configured cap; 0 means "80% of the free space at start", see {@link #cacheMaxBytesFor}. */
    public long cacheMaxBytes() {
        return values.get(CACHE_MAX_BYTES);
    }

    /** The effective cap given the cache volume's usable bytes at start. */
    public long cacheMaxBytesFor(long cacheVolumeUsableBytes) {
        long configured = cacheMaxBytes();
        return configured != 0 ? configured : cacheVolumeUsableBytes / 10 * 8;
    }

    public long diskQuotaBytes() {
        return values.get(DISK_QUOTA_BYTES);
    }

    public long ingestSegmentBytes() {
        return values.get(INGEST_SEGMENT_BYTES);
    }

    public int ingestSegmentSpares() {
        return values.get(INGEST_SEGMENT_SPARES);
    }

    public long ingestCommitMaxBytes() {
        return values.get(INGEST_COMMIT_MAX_BYTES);
    }

    public Duration ingestCommitMaxDelay() {
        return values.get(INGEST_COMMIT_MAX_DELAY);
    }

    public int authIterations() {
        return values.get(AUTH_ITERATIONS);
    }

    public Optional<Path> authPassphraseFile() {
        return values.get(AUTH_PASSPHRASE_FILE);
    }

    /** Replication group of each disk that has one: disk id → group name. */
    public Map<String, String> diskGroups() {
        Map<String, String> groups = new TreeMap<>();
        for (String name : values.instances(DISKS)) {
            String group = values.get(DISKS, name, DISK_GROUP);
            if (group != null && !group.isEmpty()) {
                String id = values.get(DISKS, name, DISK_ID);
                groups.put(id != null ? id : name, group);
            }
        }
        return groups;
    }

    public Duration retentionScrubDelay() {
        return values.get(RETENTION_SCRUB_DELAY);
    }

    public long retentionIndexCacheBytes() {
        return values.get(RETENTION_INDEX_CACHE_BYTES);
    }

    public long retentionSegmentBytes() {
        return values.get(RETENTION_SEGMENT_BYTES);
    }

    public Duration retentionWindow() {
        return values.get(RETENTION_WINDOW);
    }

    /** The journals' space cap for a retention volume of this capacity. */
    public long retentionMaxBytesFor(long volumeCapacity) {
        long v = values.get(RETENTION_MAX_BYTES);
        return v > 0 ? v : volumeCapacity / 10 * 8;
    }

    public String retentionSpacePolicy() {
        return values.get(RETENTION_SPACE_POLICY);
    }

    public boolean applyPipelined() {
        return values.get(APPLY_PIPELINED);
    }

    public int applyTargetLanes() {
        return values.get(APPLY_TARGET_LANES);
    }

    public boolean retentionAllowSharedVolume() {
        return values.get(RETENTION_ALLOW_SHARED_VOLUME);
    }

    /** The NBD server's Unix socket for local readers: the configured path, else {@code <state.dir>/nbd.sock}. */
    public Path nbdSocket() {
        return values.get(NBD_SOCKET).orElse(stateDir().resolve("nbd.sock"));
    }

    /** Whether nbd.socket was set (else its default is used, and skipped with a warning when too long). */
    public boolean nbdSocketConfigured() {
        return values.get(NBD_SOCKET).isPresent();
    }

    /** The NBD server's TCP address for remote readers (TLS with client certificates); empty: none. */
    public Optional<HostPort> nbdListen() {
        return values.get(NBD_LISTEN);
    }

    /** The CA file NBD client certificates must chain to; empty: the agent's own NBD client CA. */
    public Optional<Path> nbdTlsClientCa() {
        return values.get(NBD_TLS_CLIENT_CA);
    }

    /** Plain NBD on {@link #nbdListen()} (loopback only), without TLS or client certificates. */
    public boolean nbdInsecurePlaintext() {
        return values.get(NBD_INSECURE_PLAINTEXT);
    }

    public Duration nbdHandshakeTimeout() {
        return values.get(NBD_HANDSHAKE_TIMEOUT);
    }

    /** {@link Duration#ZERO}: never. */
    public Duration nbdIdleTimeout() {
        return values.get(NBD_IDLE_TIMEOUT);
    }

    /** The group that may read the agent's data files and use the NBD socket; empty: none. */
    public Optional<String> filesGroup() {
        String group = values.get(FILES_GROUP);
        return group.isEmpty() ? Optional.empty() : Optional.of(group);
    }

    /** Hash worker threads for resync checksums and online verify (all disks together). */
    /** Where test failovers keep their scratch files: testfailover.scratch.dir, else state.dir/scratch. */
    public Path testFailoverScratchDir() {
        return values.get(TESTFAILOVER_SCRATCH_DIR).orElse(stateDir().resolve("scratch"));
    }

    public long testFailoverScratchMaxBytes() {
        return values.get(TESTFAILOVER_SCRATCH_MAX_BYTES);
    }

    public int resyncHashThreads() {
        return values.get(RESYNC_HASH_THREADS);
    }

    /** Bytes per second hashing may read from the targets, all disks together; 0 = unlimited. */
    public long resyncHashRate() {
        return values.get(RESYNC_HASH_RATE);
    }

    /** Where the retention journals live; empty when none are kept. */
    public Optional<Path> retentionDir() {
        return values.get(RETENTION_DIR);
    }

    /** Where exports may be written: the configured entries, else {@code <state.dir>/exports}. */
    public List<Path> exportDirs() {
        List<Path> configured = values.get(EXPORT_DIRS);
        return configured.isEmpty() ? List.of(stateDir().resolve("exports")) : configured;
    }

    public HostPort controlListen() {
        return values.get(CONTROL_LISTEN);
    }

    public boolean controlOpenHealth() {
        return values.get(CONTROL_OPEN_HEALTH);
    }

    public boolean controlOpenMetrics() {
        return values.get(CONTROL_OPEN_METRICS);
    }

    /** The control API token file: the configured one, else {@code <state.dir>/control.token}. */
    public Path controlTokenFile() {
        return values.get(CONTROL_TOKEN_FILE).orElse(stateDir().resolve("control.token"));
    }

    public Duration healthRpoThreshold() {
        return values.get(HEALTH_RPO_THRESHOLD);
    }

    public Duration healthAppConsistentFrequency() {
        return values.get(HEALTH_APP_CONSISTENT_FREQUENCY);
    }

    /** Empty when no configuration server is configured. */
    public String configServerUrl() {
        return values.get(CONFIGSERVER_URL);
    }

    public Optional<Path> configServerCaFile() {
        return values.get(CONFIGSERVER_CA_FILE);
    }

    public String configServerFingerprint() {
        return values.get(CONFIGSERVER_FINGERPRINT);
    }

    public Duration heartbeatInterval() {
        return values.get(HEARTBEAT_INTERVAL);
    }

    /** The lowest log level: error, warning, info or debug. */
    public String logLevel() {
        return values.get(LOG_LEVEL);
    }

    /** The target disks, sorted by name. */
    public List<DiskConfig> disks() {
        return disks;
    }

    /** Every effective setting as {@code name=value}, one per line, for the start-up log; holds no secret. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        for (ConfigKey<?> key : DEF.keys()) {
            Object value = key == AGENT_NAME ? agentName : values.get(key);
            out.append(key.name()).append('=').append(format(key, value)).append('\n');
        }
        for (DiskConfig disk : disks) {
            out.append(DISKS.fullName(disk.name(), DISK_ID)).append('=').append(disk.id()).append('\n')
                    .append(DISKS.fullName(disk.name(), DISK_PATH)).append('=').append(disk.path()).append('\n')
                    .append(DISKS.fullName(disk.name(), DISK_SIZE)).append('=')
                    .append(Units.formatSize(disk.sizeBytes())).append('\n')
                    .append(DISKS.fullName(disk.name(), DISK_SECTOR_SIZE)).append('=').append(disk.sectorSize())
                    .append('\n');
        }
        return out.toString();
    }

    @SuppressWarnings("unchecked")
    private static <T> String format(ConfigKey<T> key, Object value) {
        return key.type().format((T) value);
    }

    private static List<DiskConfig> disks(ConfigValues values, List<String> problems) {
        List<DiskConfig> disks = new ArrayList<>();
        Map<String, String> nameById = new HashMap<>();
        Map<Path, String> nameByPath = new HashMap<>();
        for (String name : values.instances(DISKS)) {
            String id = values.get(DISKS, name, DISK_ID);
            DiskConfig disk = new DiskConfig(name, id != null ? id : name, values.get(DISKS, name, DISK_PATH),
                    values.get(DISKS, name, DISK_SIZE), values.get(DISKS, name, DISK_SECTOR_SIZE));
            String sameId = nameById.putIfAbsent(disk.id(), name);
            if (sameId != null) {
                problems.add("disks '" + sameId + "' and '" + name + "' both have the id '" + disk.id() + "' ("
                        + values.origin(DISKS.fullName(name, DISK_ID)) + "); a process server could not tell them"
                        + " apart, so every disk id must be unique");
            }
            String samePath = nameByPath.putIfAbsent(disk.path().toAbsolutePath().normalize(), name);
            if (samePath != null) {
                problems.add("disks '" + samePath + "' and '" + name + "' both use " + disk.path() + " ("
                        + values.origin(DISKS.fullName(name, DISK_PATH)) + "); two streams would overwrite each"
                        + " other's data");
            }
            if (disk.sizeBytes() % disk.sectorSize() != 0) {
                problems.add("bad value for '" + DISKS.fullName(name, DISK_SIZE) + "' ("
                        + values.origin(DISKS.fullName(name, DISK_SIZE)) + "): "
                        + Units.formatSize(disk.sizeBytes()) + " is not a multiple of the sector size "
                        + disk.sectorSize());
            }
            disks.add(disk);
        }
        return List.copyOf(disks);
    }

    private void checkAcrossKeys(List<String> problems) {
        long maxWrite = values.get(DATA_MAX_WRITE_BYTES);
        requireAtLeast(problems, DATA_CREDIT_WINDOW_BYTES, 2 * maxWrite, "twice " + DATA_MAX_WRITE_BYTES.name()
                + ", so one full-size write can be acknowledged while the next is in flight");
        requireAtLeast(problems, INGEST_SEGMENT_BYTES, 2 * maxWrite, "twice " + DATA_MAX_WRITE_BYTES.name()
                + ", so the largest write always fits into a segment with room to spare");
        long segment = values.get(INGEST_SEGMENT_BYTES);
        long commit = values.get(INGEST_COMMIT_MAX_BYTES);
        if (commit > segment) {
            problems.add("bad value for '" + INGEST_COMMIT_MAX_BYTES.name() + "' ("
                    + values.origin(INGEST_COMMIT_MAX_BYTES.name()) + "): " + Units.formatSize(commit)
                    + " is larger than " + INGEST_SEGMENT_BYTES.name() + " (" + Units.formatSize(segment)
                    + "); the bytes one group commit waits for must fit into one segment");
        }
    }

    private void requireAtLeast(List<String> problems, ConfigKey<Long> key, long minimum, String why) {
        long value = values.get(key);
        if (value < minimum) {
            problems.add("bad value for '" + key.name() + "' (" + values.origin(key.name()) + "): "
                    + Units.formatSize(value) + " — must be at least " + Units.formatSize(minimum) + ", " + why);
        }
    }

    private static List<Setting> settings(Map<String, String> map, String origin) {
        List<Setting> settings = new ArrayList<>();
        map.forEach((name, value) -> settings.add(new Setting(name, value.trim(), origin)));
        return settings;
    }
}
