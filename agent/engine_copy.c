/*
 * agent/engine_copy.c
 *
 * The directories and data copies of agent/engine.h: the directory layout (engine_prepare),
 * the data.old-* directory a PostgreSQL rebuild keeps aside until the new copy has started
 * (and restores after an interrupted one), the copy marker that keeps a partial copy from
 * being started, and the operations that replace data: rewind, rebuild and base backup.
 *
 * Layer: edge (directories and renames; the copying tools run through the drivers).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/engine_int.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/str.h"

/* ---- directories ---- */

bool engine_exists(const char *dir, const char *name)
{
    char path[ENGINE_PATH_MAX + 64];

    (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

bool engine_data_is_complete(const struct engine *e)
{
    return engine_exists(e->data_dir, "PG_VERSION") &&
           engine_exists(e->data_dir, "global/pg_control");
}

int engine_mkdir_owned(struct engine *e, const char *dir, struct errbuf *eb)
{
    int r = fs_mkdir_p(dir, 0700, eb);

    if (r == 0 && (e->inst->uid >= 0 || e->inst->gid >= 0) &&
        chown(dir, (uid_t) e->inst->uid, (gid_t) e->inst->gid) < 0) {
        r = -errno;
        errbuf_set(eb, "chown %s: %s", dir, strerror(-r));
    }
    return r;
}

int engine_prepare(struct engine *e, struct errbuf *eb)
{
    const char *dirs[] = {e->inst->base_dir, e->conf_dir,    e->run_dir,
                          e->log_dir,        e->archive_dir, e->backup_dir};
    int r = 0;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r == 0; i++) {
        r = engine_mkdir_owned(e, dirs[i], eb);
    }
    return r;
}

/* Newest base/data.old-<seconds> into buf (""), 0 or -errno. */
int engine_find_old(const struct engine *e, char *buf, size_t size)
{
    const size_t plen = strlen(ENGINE_BACKUP_OLD_PREFIX);
    char best[64] = "";
    DIR *d = opendir(e->inst->base_dir);
    struct dirent *de;

    buf[0] = '\0';
    if (!d) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ENGINE_BACKUP_OLD_PREFIX, plen) != 0 ||
            strlen(de->d_name) >= sizeof(best)) {
            continue;
        }
        /* Same-length decimal suffixes compare as numbers; longer is newer. */
        if (!best[0] || strlen(de->d_name) > strlen(best) ||
            (strlen(de->d_name) == strlen(best) && strcmp(de->d_name, best) > 0)) {
            (void) str_copy(best, sizeof(best), de->d_name);
        }
    }
    closedir(d);
    if (best[0]) {
        (void) snprintf(buf, size, "%s/%s", e->inst->base_dir, best);
    }
    return 0;
}

static void engine_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void) fsync(fd);
        close(fd);
    }
}

static int engine_rename(const char *from, const char *to, const char *parent, struct errbuf *eb)
{
    if (rename(from, to) < 0) {
        int r = -errno;
        errbuf_set(eb, "rename %s to %s: %s", from, to, strerror(-r));
        return r;
    }
    engine_fsync_dir(parent);
    return 0;
}

/* Removes every base/data.old-*: the rebuild they belonged to has completed. */
int engine_remove_old(struct engine *e, struct errbuf *eb)
{
    char old[ENGINE_PATH_MAX];
    int r = 0;

    for (int i = 0; i < 64 && r == 0; i++) {
        r = engine_find_old(e, old, sizeof(old));
        if (r < 0 || !old[0]) {
            break;
        }
        r = fs_remove_tree(old, eb);
    }
    return r;
}

/*
 * A data directory that is missing or incomplete while a data.old-* waits beside it is the
 * trace of an interrupted rebuild: put the old one back so the instance can at least start
 * (as a standby, by the caller's choice) until the rebuild is ordered again.
 */
int engine_restore_old(struct engine *e, struct errbuf *eb)
{
    char old[ENGINE_PATH_MAX];
    int r;

    if (engine_data_is_complete(e) || engine_exists(e->inst->base_dir, ENGINE_COPY_MARKER)) {
        return 0;
    }
    r = engine_find_old(e, old, sizeof(old));
    if (r < 0 || !old[0]) {
        return r;
    }
    r = fs_remove_tree(e->data_dir, eb);
    if (r == 0) {
        r = engine_rename(old, e->data_dir, e->inst->base_dir, eb);
    }
    return r;
}

/* ---- the copy marker ---- */

int engine_copy_begin(struct engine *e, const char *what, struct errbuf *eb)
{
    char path[ENGINE_PATH_MAX + 32];
    char *text = xasprintf("%s into %s did not complete: this data directory is not started;\n"
                           "og-agent copies it again from the upstream.\n",
                           what, e->data_dir);
    int r;

    (void) snprintf(path, sizeof(path), "%s/%s", e->inst->base_dir, ENGINE_COPY_MARKER);
    r = fs_write_atomic(path, text, strlen(text), 0600, eb);
    free(text);
    return r;
}

int engine_copy_end(struct engine *e, struct errbuf *eb)
{
    char path[ENGINE_PATH_MAX + 32];

    (void) snprintf(path, sizeof(path), "%s/%s", e->inst->base_dir, ENGINE_COPY_MARKER);
    if (unlink(path) < 0 && errno != ENOENT) {
        int r = -errno;
        errbuf_set(eb, "unlink %s: %s", path, strerror(-r));
        return r;
    }
    engine_fsync_dir(e->inst->base_dir);
    return 0;
}

/* ---- operations that replace data ---- */

static int engine_require_upstream(struct engine *e, const char *op, struct errbuf *eb)
{
    if (e->inst->has_upstream) {
        return 0;
    }
    errbuf_set(eb, "%s needs an upstream", op);
    return -EINVAL;
}

int engine_rewind(struct engine *e, struct errbuf *eb)
{
    int r = engine_require_upstream(e, "rewind", eb);

    if (r == 0) {
        r = engine_stop(e, eb);
    }
    if (r == 0 && !engine_data_is_complete(e)) {
        errbuf_set(eb, "no complete data directory in %s", e->data_dir);
        r = -ENOENT;
    }
    /* PRIMARY role files: pg_rewind's single-user crash recovery refuses standby.signal. */
    if (r == 0) {
        r = engine_write_config(e, ENGINE_MODE_PRIMARY, eb);
    }
    if (r == 0) {
        r = e->drv->rewind(e, eb);
    }
    if (r == 0) {
        r = engine_copy_end(e, eb);
    }
    return r;
}

/* The copy step of a PostgreSQL rebuild, with the old data directory kept aside. */
static int engine_rebuild_copy(struct engine *e, struct errbuf *eb)
{
    char old[ENGINE_PATH_MAX];
    int r = engine_find_old(e, old, sizeof(old));

    if (r == 0) {
        r = engine_copy_begin(e, "pg_basebackup", eb);
    }
    if (r < 0) {
        return r;
    }
    if (old[0]) {
        /* Resuming: whatever is in data/ is a partial copy of the interrupted attempt. */
        r = fs_remove_tree(e->data_dir, eb);
    } else if (access(e->data_dir, F_OK) == 0) {
        struct timespec now;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        (void) snprintf(old, sizeof(old), "%s/%s%lld", e->inst->base_dir, ENGINE_BACKUP_OLD_PREFIX,
                        (long long) now.tv_sec);
        r = engine_rename(e->data_dir, old, e->inst->base_dir, eb);
    }
    if (r < 0) {
        return r;
    }
    r = e->drv->rebuild(e, eb);
    if (r < 0) {
        struct errbuf ignored;

        /* The marker stays: nothing here may be started. The old data stays aside until a
         * later copy has started (engine_start removes it then). */
        (void) fs_remove_tree(e->data_dir, &ignored);
        return r;
    }
    return engine_copy_end(e, eb);
}

int engine_rebuild(struct engine *e, struct errbuf *eb)
{
    int r = engine_require_upstream(e, "rebuild", eb);

    if (r == 0) {
        r = engine_prepare(e, eb);
    }
    if (r < 0) {
        return r;
    }
    if (e->drv->rebuild_in_place) {
        r = engine_write_config(e, ENGINE_MODE_STANDBY, eb);
        if (r == 0) {
            r = engine_copy_begin(e, "gs_ctl build", eb);
        }
        if (r == 0) {
            r = e->drv->rebuild(e, eb);
        }
        return r < 0 ? r : engine_copy_end(e, eb);
    }
    r = engine_stop(e, eb);
    if (r == 0) {
        r = engine_write_conf_files(e, eb);
    }
    if (r == 0) {
        r = engine_rebuild_copy(e, eb);
    }
    if (r == 0) {
        r = engine_start(e, ENGINE_MODE_STANDBY, eb);
    }
    return r;
}

int engine_backup(struct engine *e, const struct proto_upstream *from, const char *dest_dir,
                  struct errbuf *eb)
{
    const char *host = from ? from->host : e->inst->ip;
    uint32_t port = from ? from->port : e->inst->port;
    DIR *d;
    int r;

    if (!dest_dir || !engine_path_is_safe(dest_dir)) {
        errbuf_set(eb, "backup destination must be an absolute path of [A-Za-z0-9/._-]");
        return -EINVAL;
    }
    if (from && !engine_is_ip(from->host)) {
        errbuf_set(eb, "backup source is not an IP address");
        return -EINVAL;
    }
    d = opendir(dest_dir);
    if (d) {
        struct dirent *de;
        bool empty = true;

        while ((de = readdir(d)) != NULL) {
            empty = empty && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
        }
        closedir(d);
        if (!empty) {
            errbuf_set(eb, "backup destination %s is not empty", dest_dir);
            return -EEXIST;
        }
    }
    r = engine_write_conf_files(e, eb);
    return r < 0 ? r : e->drv->backup(e, host, port, dest_dir, eb);
}
