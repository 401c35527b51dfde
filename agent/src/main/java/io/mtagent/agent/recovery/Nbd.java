package io.mtagent.agent.recovery;

/**
 * Constants of the NBD protocol (NetworkBlockDevice/nbd {@code doc/proto.md}) that this server uses.
 * All fields on the wire are big-endian.
 */
final class Nbd {
    /** "NBDMAGIC": first 8 bytes the server sends. */
    static final long INIT_MAGIC = 0x4e42444d41474943L;
    /** "IHAVEOPT": newstyle marker sent by the server, and the magic of every option request. */
    static final long OPTION_MAGIC = 0x49484156454f5054L;
    /** Magic of every option reply. */
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;

    // Handshake flags (server) and client flags.
    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 1 << 1;
    static final int CLIENT_FLAG_FIXED_NEWSTYLE = 1;
    static final int CLIENT_FLAG_NO_ZEROES = 1 << 1;

    // Options.
    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_ABORT = 2;
    static final int OPT_LIST = 3;
    static final int OPT_STARTTLS = 5;
    static final int OPT_INFO = 6;
    static final int OPT_GO = 7;
    static final int OPT_STRUCTURED_REPLY = 8;
    static final int OPT_LIST_META_CONTEXT = 9;
    static final int OPT_SET_META_CONTEXT = 10;

    // Option reply types.
    static final int REP_ACK = 1;
    static final int REP_SERVER = 2;
    static final int REP_INFO = 3;
    static final int REP_META_CONTEXT = 4;
    static final int REP_ERR_UNSUP = 0x80000001;
    static final int REP_ERR_POLICY = 0x80000002;
    static final int REP_ERR_INVALID = 0x80000003;
    static final int REP_ERR_TLS_REQD = 0x80000005;
    static final int REP_ERR_UNKNOWN = 0x80000006;
    static final int REP_ERR_TOO_BIG = 0x80000009;

    // Info types (NBD_OPT_INFO / NBD_OPT_GO).
    static final int INFO_EXPORT = 0;
    static final int INFO_NAME = 1;
    static final int INFO_DESCRIPTION = 2;
    static final int INFO_BLOCK_SIZE = 3;

    // Transmission flags.
    static final int TFLAG_HAS_FLAGS = 1;
    static final int TFLAG_READ_ONLY = 1 << 1;
    static final int TFLAG_SEND_FLUSH = 1 << 2;
    static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;
    static final int TFLAG_CAN_MULTI_CONN = 1 << 8;

    // Commands.
    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_CACHE = 5;
    static final int CMD_WRITE_ZEROES = 6;
    static final int CMD_BLOCK_STATUS = 7;

    // Command flags.
    static final int CMD_FLAG_FUA = 1;
    static final int CMD_FLAG_NO_HOLE = 1 << 1;
    static final int CMD_FLAG_DF = 1 << 2;
    static final int CMD_FLAG_REQ_ONE = 1 << 3;

    /** Structured reply chunks (NBD_OPT_STRUCTURED_REPLY): magic, the DONE flag, the chunk types. */
    static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    static final int REPLY_FLAG_DONE = 1;
    static final int REPLY_TYPE_NONE = 0;
    static final int REPLY_TYPE_OFFSET_DATA = 1;
    static final int REPLY_TYPE_OFFSET_HOLE = 2;
    static final int REPLY_TYPE_BLOCK_STATUS = 5;
    static final int REPLY_TYPE_ERROR = (1 << 15) + 1;

    /** The one metadata context served: allocation as the view sees it (holes where it reads zeros). */
    static final String META_BASE_ALLOCATION = "base:allocation";
    static final int META_BASE_ALLOCATION_ID = 1;
    /** base:allocation status bits. */
    static final int STATE_HOLE = 1;
    static final int STATE_ZERO = 1 << 1;

    // Error values of simple replies (Linux errno numbers, as the protocol defines them).
    static final int EPERM = 1;
    static final int EIO = 5;
    static final int ENOMEM = 12;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int EOVERFLOW = 75;
    static final int ESHUTDOWN = 108;

    /** Block sizes advertised with NBD_INFO_BLOCK_SIZE; MAX is also the largest READ we serve. */
    static final int MIN_BLOCK = 512;
    static final int PREFERRED_BLOCK = 4096;
    static final int MAX_PAYLOAD = 32 << 20;

    /** Largest option payload read into memory (an export name is at most 4096 bytes, plus info requests). */
    static final int MAX_OPTION_LENGTH = 16 << 10;

    private Nbd() {
    }
}
