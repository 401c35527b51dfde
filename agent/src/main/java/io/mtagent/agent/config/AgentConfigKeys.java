package io.mtagent.agent.config;

import io.mtagent.protocol.HandshakeCrypto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Every setting of {@code mtagent run}, with its default, constraint and documentation: the single source for
 * parsing, {@code --help-config} and the README table. Directory defaults are the Linux package paths; the
 * zero-setup default ({@link AgentConfig#embeddedDefault}) replaces them.
 */
public final class AgentConfigKeys {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;

    public static final ConfigKey<String> AGENT_NAME = ConfigKey.computed("agent.name", ConfigType.STRING,
            "the host name",
            Validator.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,252}", "a host-name-like word of letters, digits, '.', '_'"
                    + " and '-'"),
            "The name the agent registers under and puts into a newly generated TLS certificate.");
    public static final ConfigKey<HostPort> DATA_LISTEN = ConfigKey.of("data.listen", ConfigType.HOST_PORT,
            new HostPort("0.0.0.0", 9443), Validator.any(),
            "Address and port of the data server process servers stream to. Port 0 picks a free port (tests).");
    public static final ConfigKey<Boolean> DATA_INSECURE_PLAINTEXT = ConfigKey.of("data.insecure.plaintext",
            ConfigType.BOOLEAN, false, Validator.any(),
            "Test only: serve the data port without TLS, so everything on it travels in clear and can be read"
                    + " or altered on the way. The agent logs a loud warning.");
    public static final ConfigKey<Long> DATA_MAX_WRITE_BYTES = ConfigKey.of("data.max.write.bytes", ConfigType.SIZE,
            MIB, Validator.allOf(Validator.between(4 * KIB, 16 * MIB), Validator.multipleOf(512)),
            "The largest uncompressed write a change block may carry; larger frames are refused before any buffer"
                    + " is allocated.");
    public static final ConfigKey<Long> DATA_CREDIT_WINDOW_BYTES = ConfigKey.of("data.credit.window.bytes",
            ConfigType.SIZE, 8 * MIB, Validator.between(8 * KIB, GIB),
            "Bytes a process server may have in flight per disk stream before it waits for credit. At least twice"
                    + " data.max.write.bytes, so one full-size write can be acknowledged while the next is sent.");
    public static final ConfigKey<Long> DATA_MEMORY_MAX_BYTES = ConfigKey.of("data.memory.max.bytes",
            ConfigType.SIZE, 0L, Validator.between(0L, 16 * GIB),
            "Bytes of received writes the agent holds in memory, all disks together, before their group commit has"
                    + " written them to the ingest log. Above it the sessions stop reading their sockets until the"
                    + " commits catch up, so a slow cache volume makes the process servers wait instead of the"
                    + " agent's memory grow by up to data.credit.window.bytes per disk. 0 (default): an eighth of"
                    + " the maximum heap, between 16 MiB and 64 MiB (32 MiB with a 256 MiB heap). Keep it at least"
                    + " data.credit.window.bytes times the disks that stream hard at once (4 at 8 MiB: 32 MiB).");
    public static final ConfigKey<Duration> DATA_IDLE_TIMEOUT = ConfigKey.of("data.idle.timeout", ConfigType.DURATION,
            Duration.ofSeconds(120), Validator.between(Duration.ofSeconds(1), Duration.ofHours(24)),
            "An authenticated process-server connection on which nothing arrives for this long is closed"
                    + " (protocol/SPEC.md §5.14: process servers send PING after 30 s without traffic).");
    public static final ConfigKey<Path> STATE_DIR = ConfigKey.of("state.dir", ConfigType.PATH,
            Path.of("/var/lib/mtagent"), Validator.any(),
            "Directory of the agent's certificate and key, the passphrase verifier and the disk states.");
    public static final ConfigKey<Path> CACHE_DIR = ConfigKey.of("cache.dir", ConfigType.PATH,
            Path.of("/var/cache/mtagent"), Validator.any(),
            "Directory of the ingest logs (the cache volume): acknowledged writes wait here until applied.");
    public static final ConfigKey<Long> CACHE_MAX_BYTES = ConfigKey.of("cache.max.bytes", ConfigType.SIZE, 0L,
            Validator.atLeast(0L),
            "Cap on all ingest logs together; when reached, the data server stops reading (TCP back-pressure)."
                    + " 0 means 80% of the cache volume's free space when the agent starts.");
    public static final ConfigKey<Long> DISK_QUOTA_BYTES = ConfigKey.of("disk.quota.bytes", ConfigType.SIZE,
            256 * MIB, Validator.atLeast(MIB),
            "Ingest-log quota per disk: when a disk's unapplied writes reach it, that disk's stream gets no more"
                    + " credit while the other disks carry on.");
    public static final ConfigKey<Long> INGEST_SEGMENT_BYTES = ConfigKey.of("ingest.segment.bytes",
            ConfigType.SIZE, 64 * MIB, Validator.allOf(Validator.between(MIB, GIB), Validator.multipleOf(4 * KIB)),
            "Size of one ingest-log segment file; at least twice data.max.write.bytes.");
    public static final ConfigKey<Integer> INGEST_SEGMENT_SPARES = ConfigKey.of("ingest.segment.spares",
            ConfigType.INT, 1, Validator.between(0, 16), "Applied ingest-log segment files each disk keeps to write the"
                    + " next segments over instead of deleting them (each holds up to ingest.segment.bytes of the cache"
                    + " volume). Writing over allocated blocks spares every group commit the file system's allocation"
                    + " commit, and the volume a discard per segment; 0 deletes them.");
    public static final ConfigKey<Long> INGEST_COMMIT_MAX_BYTES = ConfigKey.of("ingest.commit.max.bytes",
            ConfigType.SIZE, 4 * MIB, Validator.between(4 * KIB, 256 * MIB),
            "Group commit: fsync once this many bytes are waiting, even if ingest.commit.max.delay has not passed."
                    + " At most ingest.segment.bytes.");
    public static final ConfigKey<Duration> INGEST_COMMIT_MAX_DELAY = ConfigKey.of("ingest.commit.max.delay",
            ConfigType.DURATION, Duration.ofMillis(2), Validator.between(Duration.ZERO, Duration.ofSeconds(1)),
            "Group commit: the longest a write waits for the fsync that acknowledges it (0 = no waiting).");
    public static final ConfigKey<Boolean> APPLY_PIPELINED = ConfigKey.of("apply.pipelined", ConfigType.BOOLEAN, true,
            Validator.any(), "Overlap each disk's apply batches: capture the next batch's before-images (journal reads,"
                    + " appends, sync) while the current batch's target writes and flush land. Off runs them one after"
                    + " another (for comparison; the durability promises are the same either way).");
    public static final ConfigKey<Integer> APPLY_TARGET_LANES = ConfigKey.of("apply.target.lanes", ConfigType.INT, 2,
            Validator.between(1, 8), "Target writes of one apply batch under way at once, per disk (writes that"
                    + " overlap still land in order). A device serves concurrent writes faster than one after another;"
                    + " 1 writes them one by one.");
    public static final ConfigKey<Integer> AUTH_ITERATIONS = ConfigKey.of("auth.iterations", ConfigType.INT,
            HandshakeCrypto.DEFAULT_ITERATIONS,
            Validator.between(HandshakeCrypto.MIN_ITERATIONS, HandshakeCrypto.MAX_ITERATIONS),
            "PBKDF2 iterations used when a passphrase is set; takes effect at the next 'mtagent passphrase set'.");
    public static final ConfigKey<Optional<Path>> AUTH_PASSPHRASE_FILE = ConfigKey.of("auth.passphrase.file",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "If no passphrase is set yet, the agent reads one from the first line of this file at start and stores"
                    + " only its derived key (unattended installs). Delete the file afterwards.");

    public static final ConfigKey<Optional<Path>> RETENTION_DIR = ConfigKey.of("retention.dir",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "Directory of the retention journals (the retention volume): the before-image of every applied write,"
            + " so disks can be viewed and exported at earlier recovery points. Empty: no journal is kept.");
    public static final ConfigKey<List<Path>> EXPORT_DIRS = ConfigKey.of("export.dirs", ConfigType.PATH_LIST,
            List.of(), Validator.any(),
            "Directories (and block devices, each named exactly) that exports may write to, separated by commas;"
                    + " anything else is refused, as is a path onto a target or into the state, cache or retention"
                    + " directories (symbolic links are followed before checking). Empty: <state.dir>/exports,"
                    + " created at start.");
    public static final ConfigKey<Optional<Path>> NBD_SOCKET = ConfigKey.of("nbd.socket", ConfigType.OPTIONAL_PATH,
            Optional.empty(), Validator.any(),
            "Unix socket of the NBD server that serves point-in-time views (read-only, or writable into a"
                    + " scratch file for a test failover) to local readers (qemu-img, nbdcopy:"
                    + " nbd+unix:///NAME?socket=PATH). Only the agent's user may connect (mode 0600), or"
                    + " also the members of files.group when it is set (0660); its directory must let them reach"
                    + " it. Empty: <state.dir>/nbd.sock. At most 107 bytes long.");
    public static final ConfigKey<Optional<HostPort>> NBD_LISTEN = ConfigKey.of("nbd.listen",
            ConfigType.OPTIONAL_HOST_PORT, Optional.empty(), Validator.any(),
            "Address and port (usually :10809) of an NBD server for readers on other machines. Every reader must"
                    + " upgrade to TLS (NBD_OPT_STARTTLS, nbds://) and present a client certificate issued by"
                    + " nbd.tls.client.ca ('mtagent nbd client-cert' makes one). Empty (default): no TCP port,"
                    + " only nbd.socket. Port 0 picks a free port (tests).");
    public static final ConfigKey<Optional<Path>> NBD_TLS_CLIENT_CA = ConfigKey.of("nbd.tls.client.ca",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "PEM certificate(s) of the CA that NBD readers' client certificates on nbd.listen must chain to."
                    + " Empty: the agent's own NBD client CA (<state.dir>/nbd-ca.crt, created at need),"
                    + " whose certificates 'mtagent nbd client-cert' issues.");
    public static final ConfigKey<Boolean> NBD_INSECURE_PLAINTEXT = ConfigKey.of("nbd.insecure.plaintext",
            ConfigType.BOOLEAN, false, Validator.any(),
            "Serve nbd.listen as plain NBD without TLS or client certificates: every local user can then read"
                    + " every served point. Loopback addresses only; the agent logs a warning at start.");
    public static final ConfigKey<Duration> NBD_HANDSHAKE_TIMEOUT = ConfigKey.of("nbd.handshake.timeout",
            ConfigType.DURATION, Duration.ofSeconds(10), Validator.between(Duration.ofSeconds(1), Duration.ofMinutes(5)),
            "An NBD connection must finish its handshake (TLS included) and choose an export within this of the"
                    + " accept, a fixed deadline however slowly it sends; else it is closed.");
    public static final ConfigKey<Duration> NBD_IDLE_TIMEOUT = ConfigKey.of("nbd.idle.timeout", ConfigType.DURATION,
            Duration.ofHours(1), Validator.between(Duration.ZERO, Duration.ofDays(7)),
            "An NBD reader that sends no request and gets no reply for this long is disconnected; 0 = never (a"
                    + " test VM booted from a view may be quiet for hours).");
    public static final ConfigKey<String> FILES_GROUP = ConfigKey.of("files.group", ConfigType.STRING, "",
            Validator.matches("|[A-Za-z_][A-Za-z0-9_.-]{0,31}", "empty or a group name"),
            "A group whose members may read the agent's data files (target files it creates, ingest logs,"
                    + " journals, exports) and connect to nbd.socket: files are created 0640 and directories 0750"
                    + " instead of 0600 and 0700, and the data directories get this group with the set-group-ID"
                    + " bit so what is created inside inherits it. The agent's user must be a member. Secrets"
                    + " (agent.key, auth.key, control.token) stay 0600. Empty: private to the agent's user.");
    public static final ConfigKey<Optional<Path>> TESTFAILOVER_SCRATCH_DIR = ConfigKey.of("testfailover.scratch.dir",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "Directory (volume) of the scratch files of test failovers: the writes of a test VM to a point served"
                    + " writable over NBD, discarded when the test ends. Empty: <state.dir>/scratch.");
    public static final ConfigKey<Long> TESTFAILOVER_SCRATCH_MAX_BYTES = ConfigKey.of("testfailover.scratch.max.bytes",
            ConfigType.SIZE, 8L << 30, Validator.atLeast(1L << 20),
            "Most bytes one test failover's disk may write to its scratch file (default 8GiB; 'mtagent test-failover"
                    + " --scratch-cap' sets less for one test); further writes get ENOSPC, as from a full disk.");

    public static final ConfigKey<Long> RETENTION_SEGMENT_BYTES = ConfigKey.of("retention.segment.bytes",
            ConfigType.SIZE, 64L << 20, Validator.between(64L << 10, 1L << 30),
            "Size of one retention-journal segment; pruning removes whole segments, so smaller segments prune"
            + " closer to the window.");

    public static final ConfigKey<Long> RETENTION_INDEX_CACHE_BYTES = ConfigKey.of("retention.index.cache.bytes",
            ConfigType.SIZE, 64L << 20, Validator.between(1L << 20, 64L << 30),
            "Memory for the retention journals' segment indexes (all disks together; ~37 bytes per journaled write)."
            + " Beyond it, views and rollbacks re-read index files: slower, never wrong.");

    public static final ConfigKey<Duration> RETENTION_SCRUB_DELAY = ConfigKey.of("retention.scrub.delay",
            ConfigType.DURATION, Duration.ofMinutes(1), Validator.between(Duration.ZERO, Duration.ofDays(1)),
            "How long after start the agent re-reads every retention journal once in the background (a restart"
            + " trusts sealed segments to their index files; this finds a damaged record before anyone needs it).");

    public static final ConfigKey<Duration> RETENTION_WINDOW = ConfigKey.of("retention.window", ConfigType.DURATION,
            Duration.ofHours(24), Validator.between(Duration.ofMinutes(1), Duration.ofDays(3650)),
            "How far back recovery points are kept (by the source time of the writes). Changeable at run time"
                    + " (SIGHUP).");

    public static final ConfigKey<Long> RETENTION_MAX_BYTES = ConfigKey.of("retention.max.bytes", ConfigType.SIZE, 0L,
            Validator.atLeast(0L), "Space cap of all retention journals together; 0 means 80% of the retention"
            + " volume's capacity. Changeable at run time (SIGHUP).");

    public static final ConfigKey<String> RETENTION_SPACE_POLICY = ConfigKey.of("retention.space.policy",
            ConfigType.STRING, "shrink-window", Validator.oneOf("shrink-window", "pause-apply", "stop-writes"),
            "What happens when the space cap is reached before the window: shrink-window (prune early, warn;"
            + " replication continues), pause-apply (the ingest logs absorb, then back-pressure), stop-writes"
            + " (no more credit until space frees up).");

    public static final ConfigKey<Boolean> RETENTION_ALLOW_SHARED_VOLUME = ConfigKey.of("retention.allow.shared.volume",
            ConfigType.BOOLEAN, false, Validator.any(), "Allow the retention journals on the install or cache volume"
            + " (demo and tests); the agent logs a warning when this is on.");
    // Control plane (issue 6).
    public static final ConfigKey<HostPort> CONTROL_LISTEN = ConfigKey.of("control.listen", ConfigType.HOST_PORT,
            new HostPort("127.0.0.1", 9444), Validator.any(),
            "Address and port of the HTTPS control server (/health, /status, /metrics, /v1/...). Port 443 needs"
                    + " CAP_NET_BIND_SERVICE. Port 0 picks a free port (tests).");
    public static final ConfigKey<Boolean> CONTROL_OPEN_HEALTH = ConfigKey.of("control.open.health",
            ConfigType.BOOLEAN, true, Validator.any(),
            "Serve GET /health without the bearer token (load balancers, monitoring checks).");
    public static final ConfigKey<Boolean> CONTROL_OPEN_METRICS = ConfigKey.of("control.open.metrics",
            ConfigType.BOOLEAN, true, Validator.any(),
            "Serve GET /metrics without the bearer token (Prometheus scrapers).");
    public static final ConfigKey<Optional<Path>> CONTROL_TOKEN_FILE = ConfigKey.of("control.token.file",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "Bearer token of the control API (32 random bytes, base64url, mode 0600), generated at first start."
                    + " Empty means <state.dir>/control.token.");
    public static final ConfigKey<Duration> HEALTH_RPO_THRESHOLD = ConfigKey.of("health.rpo.threshold",
            ConfigType.DURATION, Duration.ofMinutes(15), Validator.between(Duration.ofSeconds(1), Duration.ofDays(7)),
            "A disk whose RPO passes this is a warning (MT-1001). Changeable at run time (SIGHUP, or the configuration"
                    + " server).");
    public static final ConfigKey<Duration> HEALTH_APP_CONSISTENT_FREQUENCY = ConfigKey.of(
            "health.app.consistent.frequency", ConfigType.DURATION, Duration.ofMinutes(60),
            Validator.between(Duration.ofSeconds(1), Duration.ofDays(7)),
            "A disk without an app-consistent point for longer than this is a warning (MT-1002). Changeable at run"
                    + " time (SIGHUP, or the configuration server).");
    public static final ConfigKey<String> CONFIGSERVER_URL = ConfigKey.of("configserver.url", ConfigType.STRING, "",
            Validator.matches("|https://\\S{1,2000}", "empty (no configuration server) or an https:// URL"),
            "Base URL of the configuration server the agent registers with and sends heartbeats to (usually"
                    + " https://<host>:443). Empty: no heartbeats; the agent works on its own.");
    public static final ConfigKey<Optional<Path>> CONFIGSERVER_CA_FILE = ConfigKey.of("configserver.ca.file",
            ConfigType.OPTIONAL_PATH, Optional.empty(), Validator.any(),
            "PEM certificate(s) the configuration server's certificate must chain to. Empty: pin"
                    + " configserver.fingerprint instead.");
    public static final ConfigKey<String> CONFIGSERVER_FINGERPRINT = ConfigKey.of("configserver.fingerprint",
            ConfigType.STRING, "", Validator.matches("|([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}",
                    "empty or a SHA-256 fingerprint AB:CD:... (32 pairs)"),
            "SHA-256 fingerprint of the configuration server's certificate, pinned when configserver.ca.file is"
                    + " not set.");
    public static final ConfigKey<Duration> HEARTBEAT_INTERVAL = ConfigKey.of("heartbeat.interval",
            ConfigType.DURATION, Duration.ofSeconds(30), Validator.between(Duration.ofMillis(100), Duration.ofHours(1)),
            "Time between heartbeats to the configuration server; while it is unreachable the agent backs off"
                    + " exponentially (with jitter) up to 5 min.");

    public static final ConfigKey<String> LOG_LEVEL = ConfigKey.of("log.level", ConfigType.STRING, "info",
            Validator.oneOf("error", "warning", "info", "debug"),
            "Lowest level of the agent's log lines: error, warning, info or debug. Changeable at run time (SIGHUP,"
                    + " systemctl reload mtagent).");

    public static final ConfigKey<Integer> RESYNC_HASH_THREADS = ConfigKey.of("resync.hash.threads", ConfigType.INT, 2,
            Validator.between(1, 64),
            "Threads that read and hash target chunks for resync checksum requests and online verify, for all disks"
                    + " together: bounds how much of the machine hashing can take from the appliers.");
    public static final ConfigKey<Long> RESYNC_HASH_RATE = ConfigKey.of("resync.hash.rate", ConfigType.SIZE, 0L,
            Validator.atLeast(0L),
            "Bytes per second all resync/verify hashing may read from the targets together (e.g. 200MiB);"
                    + " 0 = unlimited. Limit it when other disks' apply throughput must not drop during a resync.");

    public static final ConfigKey<String> DISK_ID = ConfigKey.computed("id", ConfigType.STRING, "<name>",
            Validator.matches("[A-Za-z0-9._:-]{1,128}", "1 to 128 characters of letters, digits, '.', '_', ':', '-'"),
            "Stable disk id the process server opens the disk by (VMDK UUID, SCSI WWN or any agreed name).");
    public static final ConfigKey<Path> DISK_PATH = ConfigKey.required("path", ConfigType.PATH, Validator.any(),
            "Block device (by a stable name such as /dev/disk/by-id/...) or raw image file of the target disk.");
    public static final ConfigKey<Long> DISK_SIZE = ConfigKey.of("size", ConfigType.SIZE, 0L, Validator.atLeast(0L),
            "Create a file target of this size if the path does not exist; 0 means the path must exist.");
    public static final ConfigKey<Integer> DISK_SECTOR_SIZE = ConfigKey.of("sector.size", ConfigType.INT, 512,
            Validator.oneOf(512, 4096), "Logical sector size of the target disk.");

    public static final ConfigKey<String> DISK_GROUP = ConfigKey.of("group", ConfigType.STRING, "", Validator.any(),
            "Replication group the disk belongs to (multi-VM consistency): a group recovery point exists when every"
            + " disk of the group holds the group tag of that name. Empty: in no group.");

    public static final IndexedKeys DISKS = new IndexedKeys("disk",
            List.of(DISK_ID, DISK_PATH, DISK_SIZE, DISK_SECTOR_SIZE, DISK_GROUP),
            "Target disks, one group of settings per disk; <name> is 1 to 64 characters of a-z, 0-9, '_' and '-'.");

    /** The whole table. */
    public static final ConfigDef DEF = new ConfigDef(List.of(
            AGENT_NAME, DATA_LISTEN, DATA_INSECURE_PLAINTEXT, DATA_MAX_WRITE_BYTES, DATA_CREDIT_WINDOW_BYTES,
            DATA_MEMORY_MAX_BYTES, DATA_IDLE_TIMEOUT, STATE_DIR, CACHE_DIR, CACHE_MAX_BYTES, DISK_QUOTA_BYTES,
            INGEST_SEGMENT_BYTES, INGEST_SEGMENT_SPARES, INGEST_COMMIT_MAX_BYTES, INGEST_COMMIT_MAX_DELAY, APPLY_PIPELINED, APPLY_TARGET_LANES,
            AUTH_ITERATIONS, AUTH_PASSPHRASE_FILE, RETENTION_DIR, RETENTION_SEGMENT_BYTES, RETENTION_INDEX_CACHE_BYTES, RETENTION_SCRUB_DELAY,
            RETENTION_WINDOW,
            RETENTION_MAX_BYTES, RETENTION_SPACE_POLICY, RETENTION_ALLOW_SHARED_VOLUME,
            CONTROL_LISTEN, CONTROL_OPEN_HEALTH, CONTROL_OPEN_METRICS, CONTROL_TOKEN_FILE, HEALTH_RPO_THRESHOLD,
            HEALTH_APP_CONSISTENT_FREQUENCY, CONFIGSERVER_URL, CONFIGSERVER_CA_FILE, CONFIGSERVER_FINGERPRINT,
            HEARTBEAT_INTERVAL, EXPORT_DIRS, NBD_SOCKET, NBD_LISTEN, NBD_TLS_CLIENT_CA, NBD_INSECURE_PLAINTEXT,
            NBD_HANDSHAKE_TIMEOUT, NBD_IDLE_TIMEOUT, FILES_GROUP, TESTFAILOVER_SCRATCH_DIR, TESTFAILOVER_SCRATCH_MAX_BYTES,
            RESYNC_HASH_THREADS, RESYNC_HASH_RATE, LOG_LEVEL), List.of(DISKS));

    private AgentConfigKeys() {
    }
}
