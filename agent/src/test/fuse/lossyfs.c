/*
 * lossyfs: a FUSE pass-through file system that forgets everything that was not synced when told to "cut the
 * power". Test tool of mtagent's power-loss test; semantics and usage in README.md next to this file.
 *
 * Design (why it is built this way round): the backing folder <state>/root always holds the LIVE view, so every
 * read, write, create, rename and unlink is a plain pass-through and reads are trivially coherent. The DURABLE
 * state lives in this process's memory, keyed by the backing inode number:
 *   - per file: the content as of its last fsync/fdatasync (bytes + size), plus a bitmap of 4 KiB pages written
 *     since, so a sync copies only what changed;
 *   - per directory: its entry list (name -> inode, type) as of its last fsync.
 * A "cut" rebuilds <state>/root from the durable state alone (the directory tree from the root's durable entries,
 * each file with its durable content; a file or directory never synced into its parent does not exist; a file
 * named by a synced directory but never fsynced itself is empty). Everything else is forgotten.
 *
 * Inode numbers must stay unique while the durable state refers to them: an unlinked (or replaced, or removed)
 * inode that a durable directory still names is parked under <state>/grave (a hard link, or the empty directory
 * itself), so the backing file system cannot hand its number to a new file; the grave is emptied when no durable
 * directory names it any more, and at every cut. A newly created inode's number always starts with no state.
 *
 * Control: the file "/.lossyfs" (not listed) accepts one command per write and answers after it completed:
 *   "cut"               drop everything not synced
 *   "cut torn <seed>"   like cut, but each dirty 512-byte sector of a file whose inode survives is kept with
 *                       probability 1/2 (a disk that got part of its write cache out), extending the size to cover it
 *   "syncall"           make the whole live state durable (as if everything had been synced)
 *   "delay <usec>"      every later fsync/fdatasync of a file takes that long (a real disk's flush latency)
 * SIGUSR1 switches the power off at once (see power_off); the "cut" that follows restores it.
 * LOSSYFS_TRACE=<file> logs syncs, creates, renames, unlinks, drops and cuts (debugging).
 * Reading it returns counters (key=value lines).
 *
 * Single-threaded on purpose (run with -s is forced): every operation, including a cut, is atomic with respect to
 * the others, and no locking is needed.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <fuse.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <signal.h>
#include <unistd.h>

#define PAGE 4096
#define SECTOR 512
#define CTL_NAME "/.lossyfs"
#define CTL_FH ((uint64_t) -1)

struct entry {
    char *name;
    ino_t ino;
    int is_dir;
    mode_t mode;
};

struct node {
    ino_t ino;
    struct node *next;
    /* files */
    int has_data;          /* durable content known (else: empty) */
    mode_t mode;           /* permissions as of the last sync */
    char *data;
    off_t size;
    size_t cap;
    uint8_t *dirty;        /* one byte per 4 KiB page written since the last sync */
    size_t ndirty;
    int size_dirty;        /* truncated since the last sync */
    /* directories */
    int has_entries;
    struct entry *entries;
    size_t nentries;
    /* parked under grave/ */
    int in_grave;
};

#define BUCKETS 8192
static struct node *table[BUCKETS];
static char root_path[PATH_MAX];
static char grave_path[PATH_MAX];
static ino_t root_ino;
static unsigned long long n_fsync, n_fsyncdir, n_cuts, n_writes, n_sync_bytes;
static unsigned long sync_delay_us; /* each fsync/fdatasync of a file takes this long, as on a real disk */
/* SIGUSR1: the power is off from this instant: an fsync in flight does not complete, and every later change fails
 * with EIO until the "cut" command rebuilds the durable state (so the program cannot acknowledge anything after it) */
static volatile sig_atomic_t power_off;
static FILE *trace;

static void on_power_off(int sig) {
    (void) sig;
    power_off = 1;
}

#define TRACE(...) do { if (trace) { fprintf(trace, __VA_ARGS__); fputc('\n', trace); fflush(trace); } } while (0)

/* ---------------------------------------------------------------- node table */

static struct node *find(ino_t ino) {
    for (struct node *n = table[ino % BUCKETS]; n; n = n->next) {
        if (n->ino == ino) return n;
    }
    return NULL;
}

static struct node *get(ino_t ino) {
    struct node *n = find(ino);
    if (n) return n;
    n = calloc(1, sizeof *n);
    n->ino = ino;
    n->next = table[ino % BUCKETS];
    table[ino % BUCKETS] = n;
    return n;
}

static void free_entries(struct node *n) {
    for (size_t i = 0; i < n->nentries; i++) free(n->entries[i].name);
    free(n->entries);
    n->entries = NULL;
    n->nentries = 0;
}

static void drop(ino_t ino) {
    TRACE("drop ino=%lu", (unsigned long) ino);
    struct node **p = &table[ino % BUCKETS];
    while (*p) {
        if ((*p)->ino == ino) {
            struct node *n = *p;
            *p = n->next;
            free(n->data);
            free(n->dirty);
            free_entries(n);
            free(n);
            return;
        }
        p = &(*p)->next;
    }
}

static void drop_all(void) {
    for (int b = 0; b < BUCKETS; b++) {
        while (table[b]) drop(table[b]->ino);
    }
}

/* Is ino named by any durable directory? (Trees here are small: a linear scan is fine.) */
static int durably_named(ino_t ino) {
    for (int b = 0; b < BUCKETS; b++) {
        for (struct node *n = table[b]; n; n = n->next) {
            for (size_t i = 0; i < n->nentries; i++) {
                if (n->entries[i].ino == ino) return 1;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static void full(char *out, const char *path) {
    snprintf(out, PATH_MAX, "%s%s", root_path, path);
}

static void mark_dirty(ino_t ino, off_t off, off_t len) {
    if (len <= 0) return;
    struct node *n = get(ino);
    size_t last = (size_t) ((off + len - 1) / PAGE);
    if (last >= n->ndirty) {
        size_t nn = last + 1 + 64;
        n->dirty = realloc(n->dirty, nn);
        memset(n->dirty + n->ndirty, 0, nn - n->ndirty);
        n->ndirty = nn;
    }
    for (size_t p = (size_t) (off / PAGE); p <= last; p++) n->dirty[p] = 1;
}

static void ensure_cap(struct node *n, size_t size) {
    if (size > n->cap) {
        size_t nc = n->cap ? n->cap : PAGE;
        while (nc < size) nc *= 2;
        n->data = realloc(n->data, nc);
        memset(n->data + n->cap, 0, nc - n->cap);
        n->cap = nc;
    }
}

static void set_size(struct node *n, off_t size) {
    ensure_cap(n, (size_t) size);
    if (size < n->size) memset(n->data + size, 0, (size_t) (n->size - size));
    n->size = size;
}

/* Makes the live content of the file open as fd durable (fsync/fdatasync of a file). */
static int sync_file(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    if (!S_ISREG(st.st_mode)) return 0;
    struct node *n = get(st.st_ino);
    n->mode = st.st_mode & 07777;
    if (!n->has_data) {
        /* first sync: everything is durable now */
        n->has_data = 1;
        n->size = 0;
        set_size(n, st.st_size);
        if (st.st_size > 0 && pread(fd, n->data, (size_t) st.st_size, 0) != st.st_size) return -EIO;
        n_sync_bytes += (unsigned long long) st.st_size;
    } else {
        set_size(n, st.st_size);
        for (size_t p = 0; p < n->ndirty; p++) {
            if (!n->dirty[p]) continue;
            off_t off = (off_t) p * PAGE;
            if (off >= st.st_size) break;
            size_t len = (size_t) (st.st_size - off < PAGE ? st.st_size - off : PAGE);
            if (pread(fd, n->data + off, len, off) != (ssize_t) len) return -EIO;
            n_sync_bytes += len;
        }
    }
    memset(n->dirty, 0, n->ndirty);
    n->size_dirty = 0;
    TRACE("sync ino=%lu size=%ld", (unsigned long) st.st_ino, (long) st.st_size);
    return 0;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const struct entry *) a)->name, ((const struct entry *) b)->name);
}

static void gc_grave(void);

/* Makes a directory's current entry list durable (fsync of a directory). */
static int sync_dir_fd(int fd) {
    int dfd = dup(fd);
    if (dfd < 0) return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -errno;
    }
    rewinddir(d);
    struct stat st;
    if (fstat(dirfd(d), &st) != 0) {
        closedir(d);
        return -errno;
    }
    struct node *n = get(st.st_ino);
    free_entries(n);
    n->has_entries = 1;
    size_t cap = 16;
    n->entries = malloc(cap * sizeof *n->entries);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat cs;
        if (fstatat(dirfd(d), de->d_name, &cs, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(cs.st_mode) && !S_ISDIR(cs.st_mode)) continue;
        if (n->nentries == cap) {
            cap *= 2;
            n->entries = realloc(n->entries, cap * sizeof *n->entries);
        }
        n->entries[n->nentries].name = strdup(de->d_name);
        n->entries[n->nentries].ino = cs.st_ino;
        n->entries[n->nentries].is_dir = S_ISDIR(cs.st_mode);
        n->entries[n->nentries].mode = cs.st_mode & 07777;
        n->nentries++;
    }
    closedir(d);
    qsort(n->entries, n->nentries, sizeof *n->entries, cmp_entry);
    if (trace) {
        for (size_t i = 0; i < n->nentries; i++) {
            TRACE("syncdir ino=%lu %s=%lu", (unsigned long) st.st_ino, n->entries[i].name,
                    (unsigned long) n->entries[i].ino);
        }
    }
    n_fsyncdir++;
    gc_grave();
    return 0;
}

/* Before a file loses a live name: park it if a durable directory still names it (so its number stays taken). */
static void park_if_named(const char *fullpath) {
    struct stat st;
    if (lstat(fullpath, &st) != 0 || !S_ISREG(st.st_mode)) return;
    if (!durably_named(st.st_ino)) {
        if (st.st_nlink <= 1) drop(st.st_ino);
        return;
    }
    struct node *n = get(st.st_ino);
    if (n->in_grave) return;
    char g[PATH_MAX];
    snprintf(g, sizeof g, "%s/%lu", grave_path, (unsigned long) st.st_ino);
    if (link(fullpath, g) == 0) n->in_grave = 1;
}

/*
 * Frees the parked files no durable directory names any more: the grave link goes, and so does the node (its
 * durable content can never come back, and the backing file system may reuse the inode number for a new file).
 * Without the drop every deleted segment's durable copy stayed in memory for the whole run: a 1,000-cut run grew
 * to 1.4 GB and slowed to a crawl (this scan is over every node, at every directory fsync).
 */
static void gc_grave(void) {
    for (int b = 0; b < BUCKETS; b++) {
        struct node *n = table[b];
        while (n) {
            struct node *next = n->next;
            if (n->in_grave && !durably_named(n->ino)) {
                char g[PATH_MAX];
                snprintf(g, sizeof g, "%s/%lu", grave_path, (unsigned long) n->ino);
                n->in_grave = 0;
                struct stat st;
                if (lstat(g, &st) == 0) {
                    if (S_ISDIR(st.st_mode)) rmdir(g); else unlink(g);
                    if (!S_ISDIR(st.st_mode) && st.st_nlink <= 1) drop(n->ino); /* no live name left either */
                }
            }
            n = next;
        }
    }
}

/* ---------------------------------------------------------------- snapshot and cut */

static int sync_dir(const char *fullpath) {
    int fd = open(fullpath, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -errno;
    int r = sync_dir_fd(fd);
    close(fd);
    return r;
}

/* Takes what is in root/ at mount time as durable. */
static void snapshot_tree(const char *dir) {
    sync_dir(dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            snapshot_tree(p);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(p, O_RDONLY);
            if (fd >= 0) {
                sync_file(fd);
                close(fd);
            }
        }
    }
    closedir(d);
}

static void remove_tree(const char *dir, int keep_self) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p, 0); else unlink(p);
        }
        closedir(d);
    }
    if (!keep_self) rmdir(dir);
}

/* A durable tree detached from the node table (inode numbers change when it is rebuilt). */
struct tnode {
    char *name;
    int is_dir;
    mode_t mode;
    char *data;
    off_t size;
    struct tnode *children;
    size_t nchildren;
};

static unsigned long long rng_state;
static int coin(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (int) (rng_state & 1);
}

/* Torn mode: some dirty sectors of a surviving file made it to the platter. */
static void tear_into(struct node *n, const char *live, off_t live_size) {
    int fd = open(live, O_RDONLY);
    if (fd < 0) return;
    for (size_t p = 0; p < n->ndirty; p++) {
        if (!n->dirty[p]) continue;
        for (off_t s = (off_t) p * PAGE; s < (off_t) (p + 1) * PAGE && s < live_size; s += SECTOR) {
            if (!coin()) continue;
            off_t end = s + SECTOR < live_size ? s + SECTOR : live_size;
            if (end > n->size) set_size(n, end);
            pread(fd, n->data + s, (size_t) (end - s), s);
        }
    }
    close(fd);
}

static struct tnode detach(ino_t ino, const char *name, int is_dir, mode_t mode, int torn, const char *live_hint) {
    struct tnode t = {strdup(name), is_dir, mode, NULL, 0, NULL, 0};
    struct node *n = find(ino);
    if (!n) return t;
    if (is_dir) {
        t.children = calloc(n->nentries ? n->nentries : 1, sizeof *t.children);
        for (size_t i = 0; i < n->nentries; i++) {
            char hint[PATH_MAX] = "";
            if (live_hint && *live_hint) snprintf(hint, sizeof hint, "%s/%s", live_hint, n->entries[i].name);
            t.children[t.nchildren++] = detach(n->entries[i].ino, n->entries[i].name, n->entries[i].is_dir,
                    n->entries[i].mode, torn, hint);
        }
    } else {
        if (torn && n->has_data && live_hint && *live_hint) {
            struct stat st;
            if (lstat(live_hint, &st) == 0 && st.st_ino == ino) tear_into(n, live_hint, st.st_size);
        }
        if (n->has_data) {
            t.mode = n->mode;
            t.data = n->data;
            t.size = n->size;
            n->data = NULL;
            n->cap = 0;
        }
    }
    return t;
}

static void rebuild(const char *dir, struct tnode *t) {
    for (size_t i = 0; i < t->nchildren; i++) {
        struct tnode *c = &t->children[i];
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, c->name);
        if (c->is_dir) {
            mkdir(p, 0700);
            rebuild(p, c);
            chmod(p, c->mode);
        } else {
            int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
            if (fd >= 0) {
                fchmod(fd, c->mode);
                off_t done = 0;
                while (done < c->size) {
                    ssize_t w = pwrite(fd, c->data + done, (size_t) (c->size - done), done);
                    if (w <= 0) break;
                    done += w;
                }
                close(fd);
            }
        }
        free(c->data);
        free(c->name);
        if (c->is_dir) free(c->children);
    }
}

static void power_cut(int torn) {
    TRACE("cut torn=%d", torn);
    struct tnode top = detach(root_ino, "", 1, 0755, torn, torn ? root_path : NULL);
    drop_all();
    remove_tree(root_path, 1);
    remove_tree(grave_path, 1);
    rebuild(root_path, &top);
    free(top.children);
    free(top.name);
    snapshot_tree(root_path); /* the rebuilt tree is the durable state, under its new inode numbers */
    n_cuts++;
    power_off = 0;
}

/* ---------------------------------------------------------------- FUSE operations */

static void *lfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void) conn;
    cfg->use_ino = 0;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->hard_remove = 1;      /* no .fuse_hidden files: unlink is unlink */
    cfg->direct_io = 1;        /* no page cache in between: each write reaches us when the caller makes it */
    cfg->kernel_cache = 0;
    return NULL;
}

static int lfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    if (path && !strcmp(path, CTL_NAME)) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        st->st_size = 0;
        return 0;
    }
    if (fi && fi->fh != CTL_FH && fi->fh != 0) {
        if (fstat((int) fi->fh, st) == 0) return 0;
    }
    if (!path) return -ENOENT;
    char p[PATH_MAX];
    full(p, path);
    return lstat(p, st) == 0 ? 0 : -errno;
}

static int lfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
        enum fuse_readdir_flags flags) {
    (void) off;
    (void) fi;
    (void) flags;
    char p[PATH_MAX];
    full(p, path);
    DIR *d = opendir(p);
    if (!d) return -errno;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_ino = de->d_ino;
        st.st_mode = (mode_t) de->d_type << 12;
        if (filler(buf, de->d_name, &st, 0, 0)) break;
    }
    closedir(d);
    return 0;
}

static int lfs_opendir(const char *path, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    full(p, path);
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -errno;
    fi->fh = (uint64_t) fd;
    return 0;
}

static int lfs_releasedir(const char *path, struct fuse_file_info *fi) {
    (void) path;
    close((int) fi->fh);
    return 0;
}

static int lfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void) path;
    (void) datasync;
    if (power_off) return -EIO;
    return sync_dir_fd((int) fi->fh);
}

static void new_inode(const char *fullpath) {
    struct stat st;
    if (lstat(fullpath, &st) == 0) drop(st.st_ino); /* a reused inode number starts with no state */
}

static int lfs_mkdir(const char *path, mode_t mode) {
    if (power_off) return -EIO;
    char p[PATH_MAX];
    full(p, path);
    if (mkdir(p, mode) != 0) return -errno;
    new_inode(p);
    return 0;
}

static int lfs_rmdir(const char *path) {
    if (power_off) return -EIO;
    char p[PATH_MAX];
    full(p, path);
    struct stat st;
    if (lstat(p, &st) != 0) return -errno;
    if (durably_named(st.st_ino)) {
        /* keep the (empty) directory inode alive in the grave so its number is not reused */
        char g[PATH_MAX];
        snprintf(g, sizeof g, "%s/%lu", grave_path, (unsigned long) st.st_ino);
        if (rename(p, g) != 0) return -errno;
        get(st.st_ino)->in_grave = 1;
        return 0;
    }
    if (rmdir(p) != 0) return -errno;
    drop(st.st_ino);
    return 0;
}

static int lfs_unlink(const char *path) {
    if (power_off) return -EIO;
    char p[PATH_MAX];
    full(p, path);
    TRACE("unlink %s", path);
    park_if_named(p);
    return unlink(p) == 0 ? 0 : -errno;
}

static int lfs_rename(const char *from, const char *to, unsigned int flags) {
    char f[PATH_MAX], t[PATH_MAX];
    full(f, from);
    full(t, to);
    if (flags & RENAME_EXCHANGE) return -EINVAL;
    if (power_off) return -EIO;
    TRACE("rename %s %s", from, to);
    struct stat st;
    if (!(flags & RENAME_NOREPLACE) && lstat(t, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            if (durably_named(st.st_ino)) return -EBUSY; /* not needed by the agent; keep the model simple */
        } else {
            park_if_named(t);
        }
    }
    return renameat2(AT_FDCWD, f, AT_FDCWD, t, flags) == 0 ? 0 : -errno;
}

static int open_backing(const char *path, int flags, mode_t mode, int create) {
    char p[PATH_MAX];
    full(p, path);
    int bflags = flags & ~(O_DIRECT | O_SYNC | O_DSYNC | O_APPEND | O_EXCL | O_CREAT | O_TRUNC | O_NOCTTY);
    bflags = (bflags & ~O_ACCMODE) | O_RDWR;
    if (create) {
        int fd = open(p, O_CREAT | O_EXCL | O_RDWR, mode);
        if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
            fd = open(p, bflags);
        } else if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0) drop(st.st_ino);
        }
        return fd < 0 ? -errno : fd;
    }
    int fd = open(p, bflags);
    if (fd < 0 && errno == EACCES) fd = open(p, (bflags & ~O_ACCMODE) | O_RDONLY);
    return fd < 0 ? -errno : fd;
}

static int after_open(int fd, struct fuse_file_info *fi) {
    if (fi->flags & O_TRUNC) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            if (ftruncate(fd, 0) != 0) return -errno;
            struct node *n = get(st.st_ino);
            n->size_dirty = 1;
        }
    }
    fi->fh = (uint64_t) fd;
    fi->direct_io = 1;
    return 0;
}

static int lfs_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    if (power_off) return -EIO;
    int fd = open_backing(path, fi->flags, mode, 1);
    if (fd < 0) return fd;
    if (trace) {
        struct stat st;
        fstat(fd, &st);
        TRACE("create %s ino=%lu", path, (unsigned long) st.st_ino);
    }
    return after_open(fd, fi);
}

static int lfs_open(const char *path, struct fuse_file_info *fi) {
    if (!strcmp(path, CTL_NAME)) {
        fi->fh = CTL_FH;
        fi->direct_io = 1;
        return 0;
    }
    int fd = open_backing(path, fi->flags, 0, 0);
    if (fd < 0) return fd;
    return after_open(fd, fi);
}

static int lfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    if (fi->fh == CTL_FH) {
        char s[512];
        unsigned long long nodes = 0; /* files and directories with durable state held in memory */
        for (int b = 0; b < BUCKETS; b++) {
            for (struct node *n = table[b]; n; n = n->next) nodes++;
        }
        int len = snprintf(s, sizeof s,
                "fsync=%llu\nfsyncdir=%llu\ncuts=%llu\nwrites=%llu\nsync_bytes=%llu\nnodes=%llu\n",
                n_fsync, n_fsyncdir, n_cuts, n_writes, n_sync_bytes, nodes);
        if (off >= len) return 0;
        size_t n = (size_t) (len - off) < size ? (size_t) (len - off) : size;
        memcpy(buf, s + off, n);
        return (int) n;
    }
    ssize_t r = pread((int) fi->fh, buf, size, off);
    return r < 0 ? -errno : (int) r;
}

static int lfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    if (fi->fh == CTL_FH) {
        char cmd[128];
        size_t n = size < sizeof cmd - 1 ? size : sizeof cmd - 1;
        memcpy(cmd, buf, n);
        cmd[n] = 0;
        unsigned long long seed;
        if (!strncmp(cmd, "cut torn", 8)) {
            seed = strtoull(cmd + 8, NULL, 10);
            rng_state = seed ? seed : 88172645463325252ULL;
            power_cut(1);
        } else if (!strncmp(cmd, "cut", 3)) {
            power_cut(0);
        } else if (!strncmp(cmd, "delay", 5)) {
            sync_delay_us = strtoul(cmd + 5, NULL, 10);
        } else if (!strncmp(cmd, "syncall", 7)) {
            drop_all();
            remove_tree(grave_path, 1);
            snapshot_tree(root_path);
        } else {
            return -EINVAL;
        }
        return (int) size;
    }
    if (power_off) return -EIO;
    int fd = (int) fi->fh;
    if (fi->flags & O_APPEND) {
        struct stat st;
        if (fstat(fd, &st) != 0) return -errno;
        off = st.st_size;
    }
    ssize_t w = pwrite(fd, buf, size, off);
    if (w < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0) mark_dirty(st.st_ino, off, w);
    n_writes++;
    if (fi->flags & (O_SYNC | O_DSYNC)) {
        int r = sync_file(fd);
        if (r) return r;
    }
    return (int) w;
}

static int lfs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    if (path && !strcmp(path, CTL_NAME)) return 0;
    if (power_off) return -EIO;
    int r;
    struct stat st;
    if (fi && fi->fh != CTL_FH && fi->fh != 0) {
        r = ftruncate((int) fi->fh, size);
        if (r == 0) fstat((int) fi->fh, &st);
    } else {
        char p[PATH_MAX];
        full(p, path);
        r = truncate(p, size);
        if (r == 0) lstat(p, &st);
    }
    if (r != 0) return -errno;
    struct node *n = get(st.st_ino);
    n->size_dirty = 1;
    mark_dirty(st.st_ino, size, PAGE); /* the page holding the new end changed (zeroed tail) */
    return 0;
}

static int lfs_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void) path;
    (void) datasync; /* fdatasync and fsync alike: data and size; names need the directory's fsync */
    if (fi->fh == CTL_FH) return 0;
    n_fsync++;
    if (sync_delay_us) usleep(sync_delay_us); /* returns early when SIGUSR1 cuts the power */
    if (power_off) return -EIO;               /* the flush did not make it */
    return sync_file((int) fi->fh);
}

static int lfs_release(const char *path, struct fuse_file_info *fi) {
    (void) path;
    if (fi->fh != CTL_FH) close((int) fi->fh);
    return 0;
}

static int lfs_flush(const char *path, struct fuse_file_info *fi) {
    (void) path;
    (void) fi;
    return 0; /* close() is not a sync */
}

static int lfs_statfs(const char *path, struct statvfs *sv) {
    (void) path;
    return statvfs(root_path, sv) == 0 ? 0 : -errno;
}

static int lfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    if (fi && fi->fh != CTL_FH && fi->fh != 0) return fchmod((int) fi->fh, mode) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    full(p, path);
    return chmod(p, mode) == 0 ? 0 : -errno;
}

static int lfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
    (void) fi;
    char p[PATH_MAX];
    full(p, path);
    return lchown(p, uid, gid) == 0 ? 0 : -errno;
}

static int lfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    if (fi && fi->fh != CTL_FH && fi->fh != 0) return futimens((int) fi->fh, tv) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    full(p, path);
    return utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int lfs_access(const char *path, int mask) {
    if (!strcmp(path, CTL_NAME)) return 0;
    char p[PATH_MAX];
    full(p, path);
    return access(p, mask) == 0 ? 0 : -errno;
}

static int lfs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
    (void) path;
    if (fi->fh == CTL_FH) return -EOPNOTSUPP;
    if (power_off) return -EIO;
    if (fallocate((int) fi->fh, mode, off, len) != 0) return -errno;
    struct stat st;
    if (fstat((int) fi->fh, &st) == 0) {
        mark_dirty(st.st_ino, off, len);
        get(st.st_ino)->size_dirty = 1;
    }
    return 0;
}

static const struct fuse_operations ops = {
    .init = lfs_init,
    .getattr = lfs_getattr,
    .readdir = lfs_readdir,
    .opendir = lfs_opendir,
    .releasedir = lfs_releasedir,
    .fsyncdir = lfs_fsyncdir,
    .mkdir = lfs_mkdir,
    .rmdir = lfs_rmdir,
    .unlink = lfs_unlink,
    .rename = lfs_rename,
    .create = lfs_create,
    .open = lfs_open,
    .read = lfs_read,
    .write = lfs_write,
    .truncate = lfs_truncate,
    .fsync = lfs_fsync,
    .release = lfs_release,
    .flush = lfs_flush,
    .statfs = lfs_statfs,
    .chmod = lfs_chmod,
    .chown = lfs_chown,
    .utimens = lfs_utimens,
    .access = lfs_access,
    .fallocate = lfs_fallocate,
};

int main(int argc, char *argv[]) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <state-dir> <mountpoint> [fuse options]\n"
                "  <state-dir>/root holds the live tree (created if missing; its content at start counts as synced)\n"
                "  write \"cut\", \"cut torn <seed>\" or \"syncall\" to <mountpoint>/.lossyfs; read it for counters\n",
                argv[0]);
        return 2;
    }
    char *state = realpath(argv[1], NULL);
    if (!state) {
        perror(argv[1]);
        return 2;
    }
    snprintf(root_path, sizeof root_path, "%s/root", state);
    snprintf(grave_path, sizeof grave_path, "%s/grave", state);
    mkdir(root_path, 0755);
    mkdir(grave_path, 0700);
    remove_tree(grave_path, 1);
    struct stat st;
    if (stat(root_path, &st) != 0) {
        perror(root_path);
        return 2;
    }
    root_ino = st.st_ino;
    if (getenv("LOSSYFS_TRACE")) trace = fopen(getenv("LOSSYFS_TRACE"), "a");
    snapshot_tree(root_path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_power_off; /* no SA_RESTART: a sleeping fsync wakes up and fails */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    /* fuse args: program, mountpoint, -s (single-threaded), -f (foreground), then the caller's options */
    char **fargs = calloc((size_t) argc + 4, sizeof *fargs);
    int n = 0;
    fargs[n++] = argv[0];
    fargs[n++] = argv[2];
    fargs[n++] = "-s";
    fargs[n++] = "-f";
    for (int i = 3; i < argc; i++) fargs[n++] = argv[i];
    return fuse_main(n, fargs, &ops, NULL);
}
