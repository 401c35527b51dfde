package io.mtagent.nativeio.nbd;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * The raw libnbd binding (libnbd(3), {@code /usr/include/libnbd.h}), loaded as {@code nbd} and else as
 * {@code libnbd.so.0}, the name Debian's {@code libnbd0} package installs (the unversioned {@code libnbd.so} comes
 * only with {@code libnbd-dev}). Only the calls {@link NbdClient} needs. Types assume LP64 Linux: {@code size_t}
 * is {@link NativeLong}, {@code uint64_t}/{@code int64_t} are Java {@code long}, C {@code bool} is passed as an int.
 *
 * <p>libnbd passes its callbacks <em>by value</em>: a struct of the function pointer, a user-data pointer and an
 * optional free function ({@code nbd_extent_callback} and friends). The callback objects must stay strongly
 * referenced for as long as libnbd may call them, else JNA's native stub is freed under libnbd's feet; for the
 * synchronous calls used here that is the duration of the call.
 */
interface LibNbd extends Library {
    int LIBNBD_STATE_HOLE = 1;
    int LIBNBD_STATE_ZERO = 2;
    /** The bit of {@code qemu:dirty-bitmap:NAME} extents that marks them dirty. */
    int QEMU_STATE_DIRTY = 1;

    Pointer nbd_create();

    void nbd_close(Pointer h);

    String nbd_get_error();

    int nbd_get_errno();

    int nbd_set_handle_name(Pointer h, String name);

    int nbd_set_uri_allow_local_file(Pointer h, boolean allow);

    int nbd_add_meta_context(Pointer h, String name);

    int nbd_set_opt_mode(Pointer h, boolean enable);

    int nbd_opt_list_meta_context(Pointer h, ContextCallback.ByValue callback);

    int nbd_opt_abort(Pointer h);

    int nbd_connect_uri(Pointer h, String uri);

    int nbd_can_meta_context(Pointer h, String context);

    int nbd_get_tls_negotiated(Pointer h);

    long nbd_get_size(Pointer h);

    int nbd_pread(Pointer h, Pointer buf, NativeLong count, long offset, int flags);

    int nbd_block_status(Pointer h, long count, long offset, ExtentCallback.ByValue callback, int flags);

    long nbd_aio_pread(Pointer h, Pointer buf, NativeLong count, long offset, CompletionCallback.ByValue callback,
                       int flags);

    int nbd_aio_command_completed(Pointer h, long cookie);

    int nbd_poll(Pointer h, int timeoutMillis);

    int nbd_shutdown(Pointer h, int flags);

    /** {@code int (*)(void *user_data, const char *metacontext, uint64_t offset, uint32_t *entries, size_t nr_entries, int *error)}. */
    interface ExtentFunction extends Callback {
        int invoke(Pointer userData, String metacontext, long offset, Pointer entries, NativeLong entryCount,
                   Pointer error);
    }

    /** {@code int (*)(void *user_data, const char *name)}. */
    interface ContextFunction extends Callback {
        int invoke(Pointer userData, String name);
    }

    /** {@code int (*)(void *user_data, int *error)}: never set here (commands are retired by polling). */
    interface CompletionFunction extends Callback {
        int invoke(Pointer userData, Pointer error);
    }

    /** {@code void (*)(void *user_data)}: never set here (the user data is always NULL). */
    interface FreeFunction extends Callback {
        void invoke(Pointer userData);
    }

    /** {@code nbd_extent_callback}. */
    @Structure.FieldOrder({"callback", "user_data", "free"})
    class ExtentCallback extends Structure {
        public ExtentFunction callback;
        public Pointer user_data;
        public FreeFunction free;

        public static class ByValue extends ExtentCallback implements Structure.ByValue {
        }
    }

    /** {@code nbd_context_callback}. */
    @Structure.FieldOrder({"callback", "user_data", "free"})
    class ContextCallback extends Structure {
        public ContextFunction callback;
        public Pointer user_data;
        public FreeFunction free;

        public static class ByValue extends ContextCallback implements Structure.ByValue {
        }
    }

    /** {@code nbd_completion_callback}; all fields NULL is {@code NBD_NULL_COMPLETION} (retire with aio_command_completed). */
    @Structure.FieldOrder({"callback", "user_data", "free"})
    class CompletionCallback extends Structure {
        public CompletionFunction callback;
        public Pointer user_data;
        public FreeFunction free;

        public static class ByValue extends CompletionCallback implements Structure.ByValue {
        }
    }

    /** Loads libnbd, or throws {@link NbdUnavailableException} naming the package to install. */
    static LibNbd load() {
        return load("nbd", "libnbd.so.0");
    }

    /** Loads the first of {@code names} that loads (tests give a name that cannot). */
    static LibNbd load(String... names) {
        UnsatisfiedLinkError last = null;
        for (String name : names) {
            try {
                return Native.load(name, LibNbd.class);
            } catch (UnsatisfiedLinkError e) {
                last = e;
            }
        }
        // One line for the operator; JNA's own message (several lines, with the class path) stays the cause.
        throw new NbdUnavailableException("libnbd is not installed (" + String.join(" and ", names) + " cannot be"
                + " loaded); install the Debian/Ubuntu package libnbd0 (Fedora/RHEL: libnbd) to read NBD sources", last);
    }
}
