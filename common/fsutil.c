/*
 * common/fsutil.c
 *
 * Layer: edge (the file system). Every descriptor is opened O_CLOEXEC. Tree walks hold one
 * directory descriptor per level and address entries relative to it (openat, fstatat,
 * unlinkat, fchownat with AT_SYMLINK_NOFOLLOW and O_NOFOLLOW), so a symbolic link planted in
 * a tree can never redirect a delete or a chown outside it; depth is bounded. Atomic writes
 * follow the rename protocol that PostgreSQL's durable_rename() documents: fsync the file,
 * rename, fsync the directory.
 */
#include "common/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/str.h"

#define FS_WALK_DEPTH_MAX 128
#define FS_READ_CHUNK     4096

/* What a tree walk does to each entry. */
struct fs_walk {
    bool remove; /* unlink entries, directories after their contents */
    bool chown;  /* lchown entries, directories before their contents */
    uid_t uid;
    gid_t gid;
    struct errbuf *eb;
};

/* Sets eb to "<what> <path>: <strerror>" and returns -err. */
static int fs_fail(struct errbuf *eb, int err, const char *what, const char *path)
{
    char msg[128];

    errbuf_set(eb, "%s %s: %s", what, path, strerror_r(err, msg, sizeof(msg)));
    return -err;
}

static int fs_mkdir_one(const char *path, mode_t mode, struct errbuf *eb)
{
    struct stat st;

    if (mkdir(path, mode) == 0) {
        return 0;
    }
    if (errno != EEXIST) {
        return fs_fail(eb, errno, "mkdir", path);
    }
    /* Follows symbolic links on purpose, as mkdir -p does: a link to a directory is fine. */
    if (stat(path, &st) < 0) {
        return fs_fail(eb, errno, "stat", path);
    }
    if (!S_ISDIR(st.st_mode)) {
        return fs_fail(eb, ENOTDIR, "mkdir", path);
    }
    return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct errbuf *eb)
{
    char *p = NULL;
    int r = 0;

    if (str_is_empty(path)) {
        errbuf_set(eb, "mkdir: empty path");
        return -EINVAL;
    }
    p = xstrdup(path);
    /* Each '/' after the first character ends a prefix to create; the loop ends at the NUL. */
    for (char *s = p + 1;; s++) {
        char saved = *s;
        if (saved != '/' && saved != '\0') {
            continue;
        }
        *s = '\0';
        r = fs_mkdir_one(p, mode, eb);
        *s = saved;
        if (r < 0 || saved == '\0') {
            break;
        }
    }
    free(p);
    return r;
}

static int fs_write_all(int fd, const char *data, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            return -EIO;
        }
        off += (size_t) n;
    }
    return 0;
}

/* Splits path into a heap directory name ("." or "/" when implied) and a borrowed base. */
static char *fs_split(const char *path, const char **ret_base)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        *ret_base = path;
        return xstrdup(".");
    }
    *ret_base = slash + 1;
    if (slash == path) {
        return xstrdup("/");
    }
    return xstrndup(path, (size_t) (slash - path));
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct errbuf *eb)
{
    const char *base = NULL;
    char *dir = NULL;
    char *tmp = NULL;
    int fd = -1;
    int dfd = -1;
    int r;

    if (str_is_empty(path) || (!data && len > 0)) {
        errbuf_set(eb, "write: bad arguments");
        return -EINVAL;
    }
    dir = fs_split(path, &base);
    if (!base[0]) {
        r = fs_fail(eb, EISDIR, "write", path);
        goto out;
    }
    tmp = xasprintf("%s/.%s.tmp.XXXXXX", dir, base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        r = fs_fail(eb, errno, "create temporary file for", path);
        free(tmp);
        tmp = NULL; /* nothing to unlink */
        goto out;
    }
    if (fchmod(fd, mode) < 0) {
        r = fs_fail(eb, errno, "chmod", tmp);
        goto out;
    }
    r = fs_write_all(fd, data, len);
    if (r < 0) {
        r = fs_fail(eb, -r, "write", tmp);
        goto out;
    }
    if (fsync(fd) < 0) {
        r = fs_fail(eb, errno, "fsync", tmp);
        goto out;
    }
    /* close() can report a delayed write error (NFS); it must be checked before the rename. */
    r = close(fd);
    fd = -1;
    if (r < 0) {
        r = fs_fail(eb, errno, "close", tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        r = fs_fail(eb, errno, "rename to", path);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    /* The rename is durable only once the directory entry is. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        r = fs_fail(eb, errno, "fsync directory", dir);
        goto out;
    }
    r = 0;
out:
    if (fd >= 0) {
        (void) close(fd);
    }
    if (dfd >= 0) {
        (void) close(dfd);
    }
    if (tmp) {
        (void) unlink(tmp);
        free(tmp);
    }
    free(dir);
    return r;
}

/*
 * Reads fd to EOF into a heap buffer of at most max bytes plus a NUL; hint is the expected
 * size (0 when unknown). Returns 0, -EFBIG or -errno; *ret_buf is set only on success.
 */
static int fs_read_fd(int fd, size_t max, size_t hint, char **ret_buf, size_t *ret_len)
{
    /* One byte beyond max tells "exactly max" from "too large", one more holds the NUL. */
    size_t limit = max + 2;
    size_t alloc = hint > 0 ? hint + 2 : FS_READ_CHUNK;
    size_t len = 0;
    char *buf;

    if (alloc > limit) {
        alloc = limit;
    }
    buf = xmalloc(alloc);
    for (;;) {
        ssize_t n;
        if (len == alloc - 1) {
            alloc = (alloc > limit / 2) ? limit : alloc * 2;
            buf = xrealloc(buf, alloc);
        }
        n = read(fd, buf + len, alloc - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int r = n < 0 ? -errno : 0;
            if (r < 0) {
                free(buf);
                return r;
            }
            break;
        }
        len += (size_t) n;
        if (len > max) {
            free(buf);
            return -EFBIG;
        }
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len, struct errbuf *eb)
{
    struct stat st;
    int fd = -1;
    int r;

    if (str_is_empty(path) || !ret_data || !ret_len) {
        return -EINVAL;
    }
    if (max > SIZE_MAX - 2) {
        max = SIZE_MAX - 2;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0) {
        r = fs_fail(eb, errno, "open", path);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r = fs_fail(eb, EISDIR, "read", path);
        goto out;
    }
    /* Size the buffer from stat, but trust only read(): /proc files report size 0. */
    r = fs_read_fd(fd, max, S_ISREG(st.st_mode) ? (size_t) st.st_size : 0, ret_data, ret_len);
    if (r == -EFBIG) {
        errbuf_set(eb, "read %s: larger than %zu bytes", path, max);
    } else if (r < 0) {
        (void) fs_fail(eb, -r, "read", path);
    }
out:
    if (fd >= 0) {
        (void) close(fd);
    }
    return r;
}

static int fs_walk_entry(int parent_fd, const char *name, unsigned depth, const struct fs_walk *w);

/* Visits every entry of the open directory fd (taken over and closed here). */
static int fs_walk_children(int fd, unsigned depth, const struct fs_walk *w)
{
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (depth > FS_WALK_DEPTH_MAX) {
        (void) close(fd);
        errbuf_set(w->eb, "tree deeper than %d levels", FS_WALK_DEPTH_MAX);
        return -ELOOP;
    }
    d = fdopendir(fd);
    if (!d) {
        r = -errno;
        (void) close(fd);
        errbuf_set(w->eb, "fdopendir failed");
        return r;
    }
    /* Removing the entry just returned is allowed while reading a directory (POSIX readdir);
     * the loop ends when readdir has nothing left. */
    for (;;) {
        errno = 0;
        de = readdir(d); /* NOLINT(concurrency-mt-unsafe): a DIR of our own, not shared */
        if (!de) {
            if (errno) {
                r = fs_fail(w->eb, errno, "readdir", "directory");
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        r = fs_walk_entry(dirfd(d), de->d_name, depth, w);
        if (r < 0) {
            break;
        }
    }
    (void) closedir(d);
    return r;
}

/* Applies w to name inside parent_fd (AT_FDCWD with a whole path at the top). */
static int fs_walk_entry(int parent_fd, const char *name, unsigned depth, const struct fs_walk *w)
{
    struct stat st;
    bool is_dir;
    int r;

    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT && w->remove) {
            return 0; /* gone already: what a delete wants */
        }
        return fs_fail(w->eb, errno, "stat", name);
    }
    is_dir = S_ISDIR(st.st_mode);
    if (w->chown && fchownat(parent_fd, name, w->uid, w->gid, AT_SYMLINK_NOFOLLOW) < 0) {
        return fs_fail(w->eb, errno, "chown", name);
    }
    if (is_dir) {
        /* O_NOFOLLOW closes the race where the directory is swapped for a link after fstatat. */
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            return fs_fail(w->eb, errno, "open", name);
        }
        r = fs_walk_children(fd, depth + 1, w);
        if (r < 0) {
            return r;
        }
    }
    if (w->remove && unlinkat(parent_fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
        return fs_fail(w->eb, errno, "remove", name);
    }
    return 0;
}

/* Drops the last "/component" of out[len] ("" stays ""); returns the new length. */
static size_t fs_normalise_up(char *out, size_t len)
{
    while (len > 0 && out[len - 1] != '/') {
        len--;
    }
    if (len > 0) {
        len--;
    }
    out[len] = '\0';
    return len;
}

/*
 * Lexically normalises path into out[size] as "/a/b" components ("" for the top), dropping
 * "" and "." components and resolving "..". Returns 0, -EINVAL when a relative path climbs
 * above its start, or -ENAMETOOLONG.
 */
static int fs_normalise(const char *path, char *out, size_t size)
{
    bool absolute = path[0] == '/';
    const char *p = path;
    size_t len = 0;

    out[0] = '\0';
    while (*p) {
        const char *s;
        size_t n;
        while (*p == '/') {
            p++;
        }
        s = p;
        while (*p && *p != '/') {
            p++;
        }
        n = (size_t) (p - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            continue;
        }
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (len == 0 && !absolute) {
                return -EINVAL;
            }
            len = fs_normalise_up(out, len);
            continue;
        }
        if (len + 1 + n + 1 > size) {
            return -ENAMETOOLONG;
        }
        out[len++] = '/';
        memcpy(out + len, s, n);
        len += n;
        out[len] = '\0';
    }
    return 0;
}

bool fs_path_is_within(const char *root, const char *path)
{
    char nroot[PATH_MAX];
    char npath[PATH_MAX];
    size_t rlen;

    if (str_is_empty(root) || str_is_empty(path) || (root[0] == '/') != (path[0] == '/')) {
        return false;
    }
    if (fs_normalise(root, nroot, sizeof(nroot)) < 0 ||
        fs_normalise(path, npath, sizeof(npath)) < 0) {
        return false;
    }
    rlen = strlen(nroot);
    return strncmp(npath, nroot, rlen) == 0 && (npath[rlen] == '\0' || npath[rlen] == '/');
}

/*
 * False for paths a recursive delete must not take: empty, the file-system root or the
 * starting directory, and paths ending in "." or ".." (the kernel would resolve them to a
 * directory whose contents we would empty before rmdir refuses the name).
 */
static bool fs_is_removable(const char *path)
{
    char norm[PATH_MAX];
    size_t end, start;

    if (str_is_empty(path) || fs_normalise(path, norm, sizeof(norm)) < 0 || norm[0] == '\0') {
        return false;
    }
    /* The last component as the kernel sees it: trailing slashes do not count. */
    end = strlen(path);
    while (end > 0 && path[end - 1] == '/') {
        end--;
    }
    start = end;
    while (start > 0 && path[start - 1] != '/') {
        start--;
    }
    return !((end - start == 1 && path[start] == '.') ||
             (end - start == 2 && path[start] == '.' && path[start + 1] == '.'));
}

int fs_remove_tree(const char *path, struct errbuf *eb)
{
    struct fs_walk w = {.remove = true, .eb = eb};
    int r;

    if (!fs_is_removable(path)) {
        errbuf_set(eb, "refusing to remove \"%s\"", path ? path : "");
        return -EINVAL;
    }
    r = fs_walk_entry(AT_FDCWD, path, 0, &w);
    if (r < 0) {
        errbuf_prefix(eb, "remove tree %s", path);
    }
    return r;
}

int fs_chown_tree(const char *path, int uid, int gid, struct errbuf *eb)
{
    struct fs_walk w = {.chown = true, .uid = (uid_t) uid, .gid = (gid_t) gid, .eb = eb};
    int r;

    if (str_is_empty(path)) {
        return -EINVAL;
    }
    r = fs_walk_entry(AT_FDCWD, path, 0, &w);
    if (r < 0) {
        errbuf_prefix(eb, "chown tree %s", path);
    }
    return r;
}

int fs_free_bytes(const char *path, uint64_t *ret_bytes, struct errbuf *eb)
{
    struct statvfs sv;

    if (str_is_empty(path) || !ret_bytes) {
        return -EINVAL;
    }
    if (statvfs(path, &sv) < 0) {
        return fs_fail(eb, errno, "statvfs", path);
    }
    *ret_bytes = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
    return 0;
}

int fs_mkdtemp(const char *prefix, char **ret_path, struct errbuf *eb)
{
    char *tmpl;

    if (!prefix || !ret_path) {
        return -EINVAL;
    }
    tmpl = xasprintf("%sXXXXXX", prefix);
    if (!mkdtemp(tmpl)) {
        int r = fs_fail(eb, errno, "mkdtemp", tmpl);
        free(tmpl);
        return r;
    }
    *ret_path = tmpl;
    return 0;
}
