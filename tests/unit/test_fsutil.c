/*
 * tests/unit/test_fsutil.c
 *
 * common/fsutil on a real temporary directory: atomic writes read back, read caps,
 * mkdir -p, recursive delete and chown that must not follow a link pointing outside the
 * tree, the lexical containment table, and free space.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"

static char *test_dir;

static int test_fsutil_init(void)
{
    struct errbuf eb = {{0}};

    return fs_mkdtemp("/tmp/og-test-fsutil-", &test_dir, &eb) < 0 ? -1 : 0;
}

static int test_fsutil_cleanup(void)
{
    struct errbuf eb = {{0}};
    int r = test_dir ? fs_remove_tree(test_dir, &eb) : 0;

    free(test_dir);
    test_dir = NULL;
    return r < 0 ? -1 : 0;
}

/* Number of entries in dir other than "." and "..", or -1. */
static int test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((de = readdir(d)) != NULL && n < 1000) { /* NOLINT(concurrency-mt-unsafe) */
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            n++;
        }
    }
    (void) closedir(d);
    return n;
}

static void test_fsutil_write_atomic_read_back(void)
{
    struct errbuf eb = {{0}};
    char *dir = xasprintf("%s/atomic", test_dir);
    char *path = xasprintf("%s/state.json", dir);
    char *missing = xasprintf("%s/nodir/state.json", test_dir);
    char *data = NULL;
    size_t len = 0;
    struct stat st;

    CU_ASSERT_EQUAL(fs_mkdir_p(dir, 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(path, "first", 5, 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(path, "second\n", 7, 0640, &eb), 0);
    CU_ASSERT_EQUAL(fs_read_file(path, 1024, &data, &len, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data ? data : "", "second\n");
    CU_ASSERT_EQUAL(len, 7);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);   /* exactly, whatever the umask */
    CU_ASSERT_EQUAL(test_count_entries(dir), 1); /* no temporary file left behind */
    free(data);
    data = NULL;

    CU_ASSERT_EQUAL(fs_write_atomic(path, "", 0, 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_read_file(path, 1024, &data, &len, &eb), 0);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_STRING_EQUAL(data ? data : "x", "");
    free(data);

    CU_ASSERT_EQUAL(fs_write_atomic(missing, "x", 1, 0600, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "nodir"));
    CU_ASSERT_EQUAL(fs_write_atomic("", "x", 1, 0600, &eb), -EINVAL);
    free(missing);
    free(path);
    free(dir);
}

static void test_fsutil_read_cap_and_errors(void)
{
    struct errbuf eb = {{0}};
    char *path = xasprintf("%s/hundred", test_dir);
    char *missing = xasprintf("%s/missing", test_dir);
    char hundred[100];
    char *data = NULL;
    size_t len = 0;

    memset(hundred, 'a', sizeof(hundred));
    CU_ASSERT_EQUAL(fs_write_atomic(path, hundred, sizeof(hundred), 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_read_file(path, 99, &data, &len, &eb), -EFBIG);
    CU_ASSERT_PTR_NULL(data); /* untouched on failure */
    CU_ASSERT_EQUAL(fs_read_file(path, 100, &data, &len, &eb), 0);
    CU_ASSERT_EQUAL(len, 100);
    CU_ASSERT_EQUAL(data ? data[100] : 'x', '\0');
    free(data);
    data = NULL;
    CU_ASSERT_EQUAL(fs_read_file(path, 0, &data, &len, &eb), -EFBIG);

    CU_ASSERT_EQUAL(fs_read_file(missing, 100, &data, &len, &eb), -ENOENT);
    CU_ASSERT_EQUAL(fs_read_file(test_dir, 100, &data, &len, &eb), -EISDIR);

    /* /proc files have stat size 0 and must still be read whole. */
    CU_ASSERT_EQUAL(fs_read_file("/proc/self/status", 1 << 20, &data, &len, &eb), 0);
    CU_ASSERT_TRUE(len > 0 && data && strstr(data, "Pid:") != NULL);
    free(data);
    free(missing);
    free(path);
}

static void test_fsutil_mkdir_p(void)
{
    struct errbuf eb = {{0}};
    char *deep = xasprintf("%s/m/a//b/./c/", test_dir);
    char *check = xasprintf("%s/m/a/b/c", test_dir);
    char *file = xasprintf("%s/m/file", test_dir);
    char *under_file = xasprintf("%s/m/file/sub", test_dir);
    struct stat st;

    CU_ASSERT_EQUAL(fs_mkdir_p(deep, 0700, &eb), 0);
    CU_ASSERT_TRUE(stat(check, &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT_EQUAL(fs_mkdir_p(check, 0700, &eb), 0); /* existing is fine */
    CU_ASSERT_EQUAL(fs_mkdir_p("/", 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(file, "x", 1, 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_mkdir_p(file, 0700, &eb), -ENOTDIR);
    CU_ASSERT_EQUAL(fs_mkdir_p(under_file, 0700, &eb), -ENOTDIR);
    CU_ASSERT_EQUAL(fs_mkdir_p("", 0700, &eb), -EINVAL);
    free(under_file);
    free(file);
    free(check);
    free(deep);
}

static void test_fsutil_remove_tree_keeps_link_targets(void)
{
    struct errbuf eb = {{0}};
    char *tree = xasprintf("%s/tree", test_dir);
    char *nested = xasprintf("%s/tree/a/b/c", test_dir);
    char *leaf = xasprintf("%s/tree/a/b/c/leaf", test_dir);
    char *outside = xasprintf("%s/outside", test_dir);
    char *precious = xasprintf("%s/outside/precious", test_dir);
    char *dir_link = xasprintf("%s/tree/a/dirlink", test_dir);
    char *file_link = xasprintf("%s/tree/filelink", test_dir);
    struct stat st;

    CU_ASSERT_EQUAL(fs_mkdir_p(nested, 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_mkdir_p(outside, 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(leaf, "leaf", 4, 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(precious, "keep", 4, 0600, &eb), 0);
    CU_ASSERT_EQUAL(symlink(outside, dir_link), 0);
    CU_ASSERT_EQUAL(symlink(precious, file_link), 0);

    CU_ASSERT_EQUAL(fs_remove_tree(tree, &eb), 0);
    CU_ASSERT_TRUE(lstat(tree, &st) < 0 && errno == ENOENT);
    CU_ASSERT_EQUAL(stat(precious, &st), 0); /* the link was removed, not followed */
    CU_ASSERT_EQUAL(test_count_entries(outside), 1);

    CU_ASSERT_EQUAL(fs_remove_tree(tree, &eb), 0);     /* missing is fine */
    CU_ASSERT_EQUAL(fs_remove_tree(precious, &eb), 0); /* a plain file */
    CU_ASSERT_TRUE(lstat(precious, &st) < 0 && errno == ENOENT);
    CU_ASSERT_EQUAL(fs_remove_tree("/", &eb), -EINVAL);
    CU_ASSERT_EQUAL(fs_remove_tree("/tmp/..", &eb), -EINVAL);
    CU_ASSERT_EQUAL(fs_remove_tree(".", &eb), -EINVAL);
    CU_ASSERT_EQUAL(fs_remove_tree("", &eb), -EINVAL);
    CU_ASSERT_EQUAL(fs_remove_tree(NULL, &eb), -EINVAL);
    free(file_link);
    free(dir_link);
    free(precious);
    free(outside);
    free(leaf);
    free(nested);
    free(tree);
}

static void test_fsutil_path_is_within_table(void)
{
    static const struct {
        const char *root;
        const char *path;
        bool within;
    } cases[] = {
            {"/r", "/r/a", true},      {"/r", "/r/../x", false},  {"/r", "/r/a/../../x", false},
            {"/r", "/r", true},        {"/r", "/r/", true},       {"/r", "/rx", false},
            {"/r", "/r/./a//b", true}, {"/r", "/r/a/../b", true}, {"/r/", "/r/a", true},
            {"//r//", "/r/a", true},   {"/r", "/../r/a", true}, /* ".." at "/" stays at "/" */
            {"/r", "/", false},        {"/r/a", "/r", false},     {"/", "/anything", true},
            {"/r", "r/a", false},      {"r", "r/a", true},        {"r", "../r/a", false},
            {"r", "r/../../r", false}, {"/r", "", false},         {"", "/r", false},
            {NULL, "/r", false},       {"/r", NULL, false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = fs_path_is_within(cases[i].root, cases[i].path);
        if (got != cases[i].within) {
            fprintf(stderr, "case %zu: root %s path %s: got %d\n", i,
                    cases[i].root ? cases[i].root : "(null)",
                    cases[i].path ? cases[i].path : "(null)", got);
        }
        CU_ASSERT_EQUAL(got, cases[i].within);
    }
}

static void test_fsutil_chown_tree(void)
{
    struct errbuf eb = {{0}};
    char *tree = xasprintf("%s/own", test_dir);
    char *sub = xasprintf("%s/own/sub", test_dir);
    char *file = xasprintf("%s/own/sub/file", test_dir);
    char *link = xasprintf("%s/own/link", test_dir);
    char *outside = xasprintf("%s/own-outside", test_dir);
    struct passwd pw, *found = NULL;
    char pwbuf[1024];
    struct stat st;

    if (geteuid() != 0 || getpwnam_r("nobody", &pw, pwbuf, sizeof(pwbuf), &found) != 0 || !found) {
        CU_PASS("skipped: needs root and a 'nobody' user");
        goto out;
    }
    CU_ASSERT_EQUAL(fs_mkdir_p(sub, 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(file, "x", 1, 0600, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(outside, "x", 1, 0600, &eb), 0);
    CU_ASSERT_EQUAL(symlink(outside, link), 0);

    CU_ASSERT_EQUAL(fs_chown_tree(tree, (int) pw.pw_uid, (int) pw.pw_gid, &eb), 0);
    CU_ASSERT_TRUE(stat(tree, &st) == 0 && st.st_uid == pw.pw_uid && st.st_gid == pw.pw_gid);
    CU_ASSERT_TRUE(stat(file, &st) == 0 && st.st_uid == pw.pw_uid);
    CU_ASSERT_TRUE(lstat(link, &st) == 0 && st.st_uid == pw.pw_uid);
    CU_ASSERT_TRUE(stat(outside, &st) == 0 && st.st_uid == 0); /* target untouched */
    /* -1 keeps the uid and changes only the group. */
    CU_ASSERT_EQUAL(fs_chown_tree(tree, -1, 0, &eb), 0);
    CU_ASSERT_TRUE(stat(file, &st) == 0 && st.st_uid == pw.pw_uid && st.st_gid == 0);
    CU_ASSERT_EQUAL(fs_chown_tree(sub, 0, 0, &eb), 0);
    CU_ASSERT_EQUAL(fs_chown_tree("/nonexistent/og", 0, 0, &eb), -ENOENT);
out:
    free(outside);
    free(link);
    free(file);
    free(sub);
    free(tree);
}

static void test_fsutil_free_bytes_and_mkdtemp(void)
{
    struct errbuf eb = {{0}};
    uint64_t bytes = 0;
    char *dir = NULL;
    char *prefix = xasprintf("%s/tmp-", test_dir);
    struct stat st;

    CU_ASSERT_EQUAL(fs_free_bytes(test_dir, &bytes, &eb), 0);
    CU_ASSERT_TRUE(bytes > 0);
    CU_ASSERT_EQUAL(fs_free_bytes("/nonexistent/og", &bytes, &eb), -ENOENT);

    CU_ASSERT_EQUAL(fs_mkdtemp(prefix, &dir, &eb), 0);
    CU_ASSERT_TRUE(dir && strncmp(dir, prefix, strlen(prefix)) == 0 &&
                   strlen(dir) == strlen(prefix) + 6);
    CU_ASSERT_TRUE(dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
                   (st.st_mode & 0777) == 0700);
    free(dir);
    free(prefix);
    CU_ASSERT_EQUAL(fs_mkdtemp("/nonexistent/og-", &dir, &eb), -ENOENT);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"write atomic, read back", test_fsutil_write_atomic_read_back},
            {"read cap and errors", test_fsutil_read_cap_and_errors},
            {"mkdir -p", test_fsutil_mkdir_p},
            {"remove tree keeps link targets", test_fsutil_remove_tree_keeps_link_targets},
            {"path is within table", test_fsutil_path_is_within_table},
            {"chown tree", test_fsutil_chown_tree},
            {"free bytes and mkdtemp", test_fsutil_free_bytes_and_mkdtemp},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("fsutil", tests, test_fsutil_init, test_fsutil_cleanup);
}
