/*
 * agent/storage.c
 *
 * Hostpath storage: see storage.h. The lexical check (fs_path_is_within) refuses names that
 * climb; the resolved check refuses a directory that is, or passes through, a symbolic link
 * leading out of ROOT. Directories are created with mkdir and then chmod'ed, so the umask
 * does not decide their mode.
 *
 * Layer: edge (the file system).
 */
#include "agent/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/str.h"

#define STORAGE_WALK_DEPTH 64

static int storage_fail(struct errbuf *eb, int err, const char *what, const char *path)
{
    char msg[96];

    errbuf_set(eb, "%s %s: %s", what, path, strerror_r(err, msg, sizeof(msg)));
    return -err;
}

/* The nearest existing ancestor of path (or path itself), resolved, into buf. */
static int storage_resolve_existing(const char *path, char *buf, struct errbuf *eb)
{
    char probe[PATH_MAX];

    if (str_copy(probe, sizeof(probe), path) < 0) {
        errbuf_set(eb, "path too long: %s", path);
        return -ENAMETOOLONG;
    }
    for (int i = 0; i < STORAGE_WALK_DEPTH; i++) {
        char *slash;

        if (realpath(probe, buf)) {
            return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            return storage_fail(eb, errno, "realpath", probe);
        }
        slash = strrchr(probe, '/');
        if (!slash || slash == probe) {
            break;
        }
        *slash = '\0';
    }
    return storage_fail(eb, ENOENT, "no existing ancestor of", path);
}

/* path must resolve (as far as it exists) inside root. */
static int storage_check_resolved(const char *root, const char *path, struct errbuf *eb)
{
    char real_root[PATH_MAX];
    char real_path[PATH_MAX];
    int r;

    if (!realpath(root, real_root)) {
        return storage_fail(eb, errno, "realpath", root);
    }
    r = storage_resolve_existing(path, real_path, eb);
    if (r < 0) {
        return r;
    }
    if (!fs_path_is_within(real_root, real_path)) {
        errbuf_set(eb, "%s resolves to %s, outside the root %s", path, real_path, real_root);
        return -EXDEV;
    }
    return 0;
}

static bool storage_chars_ok(const char *p)
{
    for (; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

int storage_paths_build(const char *root, const char *ns, const char *cluster, const char *member,
                        struct storage_paths *ret, struct errbuf *eb)
{
    struct storage_paths p;
    const char *all[4];
    int n;

    if (!str_is_dns_label(ns) || !str_is_dns_label(cluster) || !str_is_dns_label(member)) {
        errbuf_set(eb, "namespace, cluster and member must be DNS labels");
        return -EINVAL;
    }
    memset(&p, 0, sizeof(p));
    n = snprintf(p.cluster_dir, sizeof(p.cluster_dir), "%s/%s/%s", root, ns, cluster);
    if (n < 0 || (size_t) n >= sizeof(p.cluster_dir) ||
        strlen(p.cluster_dir) + 1 + strlen(member) + sizeof(STORAGE_STATE_SUFFIX) >=
                ENGINE_BASE_MAX) {
        errbuf_set(eb, "member directory under %s is too long for the engine (%d bytes)", root,
                   ENGINE_BASE_MAX);
        return -EINVAL;
    }
    (void) snprintf(p.member_dir, sizeof(p.member_dir), "%s/%s", p.cluster_dir, member);
    (void) snprintf(p.epoch_file, sizeof(p.epoch_file), "%s/epoch", p.cluster_dir);
    (void) snprintf(p.state_file, sizeof(p.state_file), "%s/%s%s", p.cluster_dir, member,
                    STORAGE_STATE_SUFFIX);
    if (root[0] != '/' || !storage_chars_ok(p.member_dir)) {
        errbuf_set(eb, "root must be an absolute path of [A-Za-z0-9/._-]: %s", root);
        return -EINVAL;
    }
    all[0] = p.cluster_dir;
    all[1] = p.member_dir;
    all[2] = p.epoch_file;
    all[3] = p.state_file;
    for (size_t i = 0; i < 4; i++) {
        int r;

        if (!fs_path_is_within(root, all[i]) || strcmp(all[i], root) == 0) {
            errbuf_set(eb, "%s is outside the root %s", all[i], root);
            return -EXDEV;
        }
        r = storage_check_resolved(root, all[i], eb);
        if (r < 0) {
            return r;
        }
    }
    *ret = p;
    return 0;
}

int storage_prepare_root(const char *root, struct errbuf *eb)
{
    struct stat st;
    int r = fs_mkdir_p(root, 0711, eb);

    if (r < 0) {
        return r;
    }
    if (stat(root, &st) < 0) {
        return storage_fail(eb, errno, "stat", root);
    }
    if ((st.st_mode & 0011) != 0011 && chmod(root, (st.st_mode & 07777) | 0011) < 0) {
        return storage_fail(eb, errno, "chmod", root);
    }
    return 0;
}

/* mkdir (parents included), then the exact mode and owner. */
static int storage_mkdir(const char *dir, mode_t mode, int uid, int gid, struct errbuf *eb)
{
    struct stat st;
    int r = fs_mkdir_p(dir, mode, eb);

    if (r < 0) {
        return r;
    }
    if (lstat(dir, &st) < 0) {
        return storage_fail(eb, errno, "lstat", dir);
    }
    if (!S_ISDIR(st.st_mode)) {
        errbuf_set(eb, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    if ((st.st_mode & 07777) != mode && chmod(dir, mode) < 0) {
        return storage_fail(eb, errno, "chmod", dir);
    }
    if ((uid >= 0 && st.st_uid != (uid_t) uid) || (gid >= 0 && st.st_gid != (gid_t) gid)) {
        if (lchown(dir, (uid_t) uid, (gid_t) gid) < 0) {
            return storage_fail(eb, errno, "chown", dir);
        }
    }
    return 0;
}

int storage_prepare_cluster(const char *root, const struct storage_paths *p, struct errbuf *eb)
{
    char ns_dir[ENGINE_PATH_MAX];
    char *slash;
    int r;

    r = storage_check_resolved(root, p->cluster_dir, eb);
    if (r < 0) {
        return r;
    }
    (void) str_copy(ns_dir, sizeof(ns_dir), p->cluster_dir);
    slash = strrchr(ns_dir, '/');
    if (slash) {
        *slash = '\0';
    }
    r = storage_mkdir(ns_dir, 0711, -1, -1, eb);
    if (r == 0) {
        r = storage_mkdir(p->cluster_dir, 0711, -1, -1, eb);
    }
    return r < 0 ? r : storage_check_resolved(root, p->cluster_dir, eb);
}

int storage_prepare_member(const char *root, const struct storage_paths *p, int uid, int gid,
                           struct errbuf *eb)
{
    static const char *const subdirs[] = {"data", "log", "backup", "archive"};
    int r;

    r = storage_check_resolved(root, p->member_dir, eb);
    if (r == 0) {
        r = storage_prepare_cluster(root, p, eb);
    }
    if (r == 0) {
        r = storage_mkdir(p->member_dir, 0700, uid, gid, eb);
    }
    for (size_t i = 0; r == 0 && i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char dir[ENGINE_PATH_MAX + 16];

        (void) snprintf(dir, sizeof(dir), "%s/%s", p->member_dir, subdirs[i]);
        r = storage_mkdir(dir, 0700, uid, gid, eb);
    }
    /* A link swapped in while we worked would show now. */
    return r < 0 ? r : storage_check_resolved(root, p->member_dir, eb);
}

int storage_free_bytes(const struct storage_paths *p, uint64_t *ret_bytes, struct errbuf *eb)
{
    char real[PATH_MAX];
    int r = storage_resolve_existing(p->member_dir, real, eb);

    return r < 0 ? r : fs_free_bytes(real, ret_bytes, eb);
}

static int storage_walk(int dirfd, int depth, uint64_t *total, struct errbuf *eb)
{
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (depth > STORAGE_WALK_DEPTH) {
        close(dirfd);
        errbuf_set(eb, "directory tree deeper than %d levels", STORAGE_WALK_DEPTH);
        return -ELOOP;
    }
    d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return storage_fail(eb, errno, "fdopendir", "backup");
    }
    while (r == 0 && (de = readdir(d)) != NULL) {
        struct stat st;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            continue;
        }
        if (S_ISREG(st.st_mode)) {
            *total += (uint64_t) st.st_size;
        } else if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                r = storage_walk(fd, depth + 1, total, eb);
            }
        }
    }
    closedir(d);
    return r;
}

int storage_tree_bytes(const char *dir, uint64_t *ret_bytes, struct errbuf *eb)
{
    uint64_t total = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r;

    if (fd < 0) {
        return storage_fail(eb, errno, "open", dir);
    }
    r = storage_walk(fd, 0, &total, eb);
    if (r == 0) {
        *ret_bytes = total;
    }
    return r;
}
