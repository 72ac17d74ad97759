/*
 * common/fsutil.h
 *
 * File-system helpers for the agent's hostpath storage and state files: directories with
 * parents, crash-safe whole-file replacement, bounded reads, recursive delete and chown that
 * never follow symbolic links, free space, and a lexical "is this path inside that root"
 * check for paths built from names that came from outside.
 */
#ifndef OG_COMMON_FSUTIL_H
#define OG_COMMON_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errbuf.h"

/*
 * Creates path and any missing parents with mode (as mkdir(2): the umask applies). Existing
 * directories are fine and keep their mode. Returns 0, -EINVAL (empty path), -ENOTDIR (a
 * component exists and is not a directory) or the mkdir errno.
 */
int fs_mkdir_p(const char *path, mode_t mode, struct errbuf *eb);

/*
 * Replaces path with data[len] so that a crash leaves either the old or the new content:
 * a temporary file in the same directory, written, chmod'ed to mode, fsync'ed, renamed over
 * path, then the directory fsync'ed. The temporary file is removed on failure.
 * Returns 0 or -errno (-ENOENT when the directory does not exist).
 */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct errbuf *eb);

/*
 * Reads the whole file at path, at most max bytes. On success *ret_data is a NUL-terminated
 * heap copy owned by the caller (free()) and *ret_len its length without the NUL; neither is
 * written on failure. Works on files whose stat size is 0 (/proc). Returns 0, -ENOENT,
 * -EFBIG (longer than max), -EISDIR or another -errno.
 */
int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len, struct errbuf *eb);

/*
 * Deletes path and, if it is a directory, everything below it, with openat/unlinkat and
 * O_NOFOLLOW: a symbolic link is removed itself, never followed. A missing path is success.
 * Refuses "" and "/" (-EINVAL). Returns 0 or the first -errno met (-ELOOP beyond 128 levels).
 */
int fs_remove_tree(const char *path, struct errbuf *eb);

/* Space available to unprivileged users on the file system holding path (statvfs
 * f_bavail * f_frsize) into *ret_bytes. Returns 0 or -errno. */
int fs_free_bytes(const char *path, uint64_t *ret_bytes, struct errbuf *eb);

/*
 * True when path, after lexical normalisation ("//", "." and ".." resolved without touching
 * the file system, ".." at "/" stays at "/"), is root itself or below it. Both must be
 * absolute, or both relative; a relative path climbing above its start is outside. Symbolic
 * links are not resolved: use it on paths we build, then open with O_NOFOLLOW where it
 * matters. NULL, empty or over-long (PATH_MAX) input gives false.
 */
bool fs_path_is_within(const char *root, const char *path);

/*
 * Changes the owner of path and everything below it (lchown semantics: links themselves,
 * never their targets); uid or gid -1 leaves that id unchanged. Returns 0 or the first
 * -errno met (-ENOENT when path does not exist).
 */
int fs_chown_tree(const char *path, int uid, int gid, struct errbuf *eb);

/*
 * Creates a new directory (mode 0700) named prefix followed by six random characters, as
 * mkdtemp(3), e.g. prefix "/tmp/og-test-". On success *ret_path is owned by the caller
 * (free()). Returns 0 or -errno.
 */
int fs_mkdtemp(const char *prefix, char **ret_path, struct errbuf *eb);

#endif
