/*
 * tests/support/netns.c
 *
 * A private network of namespaces for one test run (see netns.h): a switch namespace with a
 * bridge, a control host the test process enters, and n hosts, each joined to the bridge by
 * a veth pair created inside the switch namespace (so nothing is ever created in the root
 * namespace, and deleting a namespace destroys its links). ip(8) does the building, run
 * through proc_run with argument arrays; entering a namespace is setns(CLONE_NEWNET) on an
 * open handle of NETNS_RUN_DIR/<name>, exactly what `ip netns exec` does minus its mount
 * namespace, which we do not need.
 *
 * A process is "inside" a namespace when /proc/<pid>/ns/net is the same inode as the
 * namespace's handle (`ip netns pids` compares the same way).
 *
 * Layer: edge (test support).
 */
#include "tests/support/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/proc.h"
#include "common/str.h"
#include "tests/support/testutil.h"

#define NETNS_IP_TIMEOUT_MS 15000
#define NETNS_KILL_ROUNDS   50
#define NETNS_KILL_STEP_MS  100
#define NETNS_MAX_ENTRIES   256

/* ---- ip(8) ----------------------------------------------------------------------------- */

static const char *netns_ip_path(void)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0) {
            return paths[i];
        }
    }
    return NULL;
}

/* Runs ip with args (NULL-terminated, without argv[0]). 0, -ENOENT, -EIO (eb: its stderr). */
static int netns_ip(const char *const *args, struct errbuf *eb)
{
    const char *argv[24];
    struct proc_spec spec = PROC_SPEC_INIT(argv);
    struct proc_result res = {0};
    size_t n = 0;
    int r;

    argv[n++] = netns_ip_path();
    if (!argv[0]) {
        errbuf_set(eb, "ip(8) not found");
        return -ENOENT;
    }
    for (size_t i = 0; args[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    spec.timeout_ms = NETNS_IP_TIMEOUT_MS;
    r = proc_run(&spec, &res, eb);
    if (r == 0 && res.exit_code != 0) {
        errbuf_set(eb, "ip %s %s %s: exit %d: %.160s", args[0], args[1] ? args[1] : "",
                   args[1] && args[2] ? args[2] : "", res.exit_code, res.err ? res.err : "");
        r = -EIO;
    }
    proc_result_done(&res);
    return r;
}

/* ---- which processes are inside ------------------------------------------------------- */

/* The namespace handle's identity; false when there is no such namespace. */
static bool netns_identity(const char *name, dev_t *ret_dev, ino_t *ret_ino)
{
    char path[PATH_MAX];
    struct stat st;

    (void) snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
    if (stat(path, &st) < 0) {
        return false;
    }
    *ret_dev = st.st_dev;
    *ret_ino = st.st_ino;
    return true;
}

/*
 * Counts the processes inside namespace name; with kill_them, SIGCONTs and SIGKILLs them (our
 * own process excepted, and not counted).
 */
static size_t netns_scan(const char *name, bool kill_them)
{
    dev_t dev;
    ino_t ino;
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    if (!netns_identity(name, &dev, &ino)) {
        return 0;
    }
    d = opendir("/proc");
    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char path[64];
        struct stat st;
        uint32_t pid;

        if (str_to_u32(de->d_name, 1, INT32_MAX, &pid) < 0) {
            continue;
        }
        (void) snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
        if (stat(path, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
            continue;
        }
        if (kill_them && (pid_t) pid == getpid()) {
            continue;
        }
        if (kill_them) {
            (void) kill((pid_t) pid, SIGCONT);
            (void) kill((pid_t) pid, SIGKILL);
        }
        n++;
    }
    closedir(d);
    return n;
}

size_t netns_pid_count(const char *name)
{
    return netns_scan(name, false);
}

/* Kills what is inside name until nothing is (bounded), then deletes it. 0 or -errno. */
static int netns_delete(const char *name)
{
    const char *args[] = {"netns", "delete", name, NULL};
    struct errbuf eb = {{0}};

    for (int round = 0; round < NETNS_KILL_ROUNDS; round++) {
        if (netns_scan(name, true) == 0) {
            break;
        }
        tu_sleep_ms(NETNS_KILL_STEP_MS);
    }
    return netns_ip(args, &eb);
}

/* ---- names ----------------------------------------------------------------------------- */

/* True when entry belongs to the run prefix "og<pid>": the prefix, then a non-digit. */
static bool netns_is_ours(const char *entry, const char *prefix)
{
    size_t len = strlen(prefix);

    return strncmp(entry, prefix, len) == 0 && entry[len] != '\0' &&
           (entry[len] < '0' || entry[len] > '9');
}

/* The PID in a run's namespace name og<pid><suffix>; false when entry is not one of ours. */
static bool netns_entry_pid(const char *entry, pid_t *ret_pid)
{
    char digits[16];
    size_t k = 0;
    const char *suffix;
    uint32_t pid;

    if (strncmp(entry, "og", 2) != 0) {
        return false;
    }
    for (suffix = entry + 2; *suffix >= '0' && *suffix <= '9' && k + 1 < sizeof(digits); suffix++) {
        digits[k++] = *suffix;
    }
    digits[k] = '\0';
    if (k == 0 || str_to_u32(digits, 2, INT32_MAX, &pid) < 0) {
        return false;
    }
    if (!str_eq(suffix, "sw") && !str_eq(suffix, "ctl") && !str_eq(suffix, "probe") &&
        !(suffix[0] == 'h' && suffix[1] >= '0' && suffix[1] <= '9')) {
        return false;
    }
    *ret_pid = (pid_t) pid;
    return true;
}

/* The entries of NETNS_RUN_DIR (at most max, each name[32]); how many. */
static size_t netns_entries(char (*ret)[32], size_t max)
{
    DIR *d = opendir(NETNS_RUN_DIR);
    struct dirent *de;
    size_t n = 0;

    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] != '.' && str_copy(ret[n], sizeof(ret[n]), de->d_name) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

size_t netns_count_prefix(const char *prefix)
{
    char(*names)[32] = xcalloc(NETNS_MAX_ENTRIES, sizeof(*names));
    size_t n = netns_entries(names, NETNS_MAX_ENTRIES), found = 0;

    for (size_t i = 0; i < n; i++) {
        found += netns_is_ours(names[i], prefix);
    }
    free(names);
    return found;
}

/* Deletes every namespace of the run prefix, hosts before the switch. 0 or the first -errno. */
static int netns_delete_prefix(const char *prefix)
{
    char(*names)[32] = xcalloc(NETNS_MAX_ENTRIES, sizeof(*names));
    size_t n = netns_entries(names, NETNS_MAX_ENTRIES);
    int r = 0;

    for (size_t i = 0; i < n; i++) {
        if (netns_is_ours(names[i], prefix)) {
            int k = netns_delete(names[i]);
            r = r < 0 ? r : k;
        }
    }
    free(names);
    return r;
}

int netns_clean_stale(void)
{
    char(*names)[32] = xcalloc(NETNS_MAX_ENTRIES, sizeof(*names));
    size_t n = netns_entries(names, NETNS_MAX_ENTRIES);
    int deleted = 0;

    for (size_t i = 0; i < n; i++) {
        pid_t pid;

        if (!netns_entry_pid(names[i], &pid) || pid == getpid()) {
            continue;
        }
        if (kill(pid, 0) == 0 || errno != ESRCH) {
            continue; /* its run is still going (or the PID was reused: leave it) */
        }
        if (netns_delete(names[i]) == 0) {
            deleted++;
        }
    }
    free(names);
    return deleted;
}

/* ---- the watchdog ---------------------------------------------------------------------- */

/*
 * Reads lines until "q" (dismissed) or EOF (the test is gone: delete the run's namespaces,
 * which kills what runs inside, then remove the directory a "d<path>" line named).
 */
static void netns_watchdog(int fd, void *arg)
{
    const char *prefix = arg;
    char buf[PATH_MAX + 2], dir[PATH_MAX] = "";
    size_t len = 0;

    (void) setsid();
    (void) chdir("/");
    for (int other = 3; other < 1024; other++) {
        if (other != fd) {
            (void) close(other);
        }
    }
    for (;;) {
        ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
        char *nl;

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        len += (size_t) k;
        buf[len] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            if (str_eq(buf, "q")) {
                _exit(0);
            }
            if (buf[0] == 'd') {
                (void) str_copy(dir, sizeof(dir), buf + 1);
            }
            len -= (size_t) (nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len >= sizeof(buf) - 1) {
            len = 0; /* a line too long for a path: dropped */
        }
    }
    (void) netns_delete_prefix(prefix);
    if (dir[0] && !getenv("OG_TEST_KEEP")) {
        (void) tu_rmtree(dir);
    }
    _exit(0);
}

static int netns_watchdog_start(struct netns *nn)
{
    return tu_watchdog_start(netns_watchdog, nn->prefix, &nn->watchdog_fd, &nn->watchdog_pid);
}

int netns_own_dir(struct netns *nn, const char *dir)
{
    char line[PATH_MAX + 4];
    int len;

    if (!nn->active || nn->watchdog_fd < 0 || !dir || dir[0] != '/') {
        return -EINVAL;
    }
    len = snprintf(line, sizeof(line), "d%s\n", dir);
    if (len <= 0 || (size_t) len >= sizeof(line) || strchr(dir, '\n')) {
        return -ENAMETOOLONG;
    }
    return write(nn->watchdog_fd, line, (size_t) len) == len ? 0 : -EIO;
}

/* ---- building -------------------------------------------------------------------------- */

/* Adds host h as port k of the switch: the namespace, a veth (vK in sw, eth0 in h), lo. */
static int netns_add_host(struct netns *nn, const struct netns_host *h, int k, struct errbuf *eb)
{
    char port[16], cidr[24];
    const char *add[] = {"netns", "add", h->name, NULL};
    const char *veth[] = {"-n",   nn->sw, "link", "add",   port,    "type", "veth",
                          "peer", "name", "eth0", "netns", h->name, NULL};
    const char *master[] = {"-n", nn->sw, "link", "set", port, "master", "br0", "up", NULL};
    const char *addr[] = {"-n", h->name, "addr", "add", cidr, "dev", "eth0", NULL};
    const char *up[] = {"-n", h->name, "link", "set", "eth0", "up", NULL};
    const char *lo[] = {"-n", h->name, "link", "set", "lo", "up", NULL};
    const char *const *steps[] = {add, veth, master, addr, up, lo};
    int r = 0;

    (void) snprintf(port, sizeof(port), "v%d", k);
    (void) snprintf(cidr, sizeof(cidr), "%s/24", h->ip);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && r == 0; i++) {
        r = netns_ip(steps[i], eb);
    }
    if (r < 0) {
        errbuf_prefix(eb, "host %s: ", h->name);
    }
    return r;
}

static int netns_build(struct netns *nn, struct errbuf *eb)
{
    const char *add[] = {"netns", "add", nn->sw, NULL};
    const char *bridge[] = {"-n", nn->sw, "link", "add", "br0", "type", "bridge", NULL};
    const char *up[] = {"-n", nn->sw, "link", "set", "br0", "up", NULL};
    int r = netns_ip(add, eb);

    if (r == 0) {
        r = netns_ip(bridge, eb);
    }
    if (r == 0) {
        r = netns_ip(up, eb);
    }
    if (r == 0) {
        r = netns_add_host(nn, &nn->ctl, 0, eb);
    }
    for (int i = 0; i < nn->n && r == 0; i++) {
        r = netns_add_host(nn, &nn->hosts[i], i + 1, eb);
    }
    return r;
}

int netns_setup(struct netns *nn, int n, struct errbuf *eb)
{
    int pid = (int) getpid();
    int r;

    memset(nn, 0, sizeof(*nn));
    nn->home_fd = -1;
    nn->watchdog_fd = -1;
    if (n < 1 || n > NETNS_MAX_HOSTS) {
        errbuf_set(eb, "netns_setup: %d hosts (1..%d)", n, NETNS_MAX_HOSTS);
        return -EINVAL;
    }
    nn->n = n;
    (void) snprintf(nn->prefix, sizeof(nn->prefix), "og%d", pid);
    (void) snprintf(nn->sw, sizeof(nn->sw), "og%dsw", pid);
    /* 10.X.Y with X in 100..249 and Y in 1..254, from the PID. */
    (void) snprintf(nn->subnet, sizeof(nn->subnet), "10.%d.%d", 100 + (pid / 254) % 150,
                    1 + pid % 254);
    (void) snprintf(nn->ctl.name, sizeof(nn->ctl.name), "og%dctl", pid);
    (void) snprintf(nn->ctl.ip, sizeof(nn->ctl.ip), "%s.254", nn->subnet);
    for (int i = 0; i < n; i++) {
        (void) snprintf(nn->hosts[i].name, sizeof(nn->hosts[i].name), "og%dh%d", pid, i + 1);
        (void) snprintf(nn->hosts[i].ip, sizeof(nn->hosts[i].ip), "%s.%d", nn->subnet, i + 1);
    }
    (void) netns_clean_stale();
    r = netns_watchdog_start(nn);
    if (r < 0) {
        char msg[128];

        errbuf_set(eb, "netns_setup: watchdog: %s", strerror_r(-r, msg, sizeof(msg)));
        return r;
    }
    nn->active = true;
    r = netns_build(nn, eb);
    if (r < 0) {
        (void) netns_teardown(nn);
    }
    return r;
}

/* ---- entering and spawning ------------------------------------------------------------- */

/* setns(CLONE_NEWNET) of the calling thread into name. 0 or -errno. */
static int netns_join(const char *name)
{
    char path[PATH_MAX];
    int fd, r = 0;

    (void) snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (setns(fd, CLONE_NEWNET) < 0) {
        r = -errno;
    }
    (void) close(fd);
    return r;
}

int netns_enter(struct netns *nn, const char *name, struct errbuf *eb)
{
    char msg[128];
    int r;

    if (nn->home_fd < 0) {
        nn->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (nn->home_fd < 0) {
            r = -errno;
            errbuf_set(eb, "open /proc/thread-self/ns/net: %s", strerror_r(-r, msg, sizeof(msg)));
            return r;
        }
    }
    r = netns_join(name);
    if (r < 0) {
        errbuf_set(eb, "setns %s: %s", name, strerror_r(-r, msg, sizeof(msg)));
    }
    return r;
}

int netns_enter_ctl(struct netns *nn, struct errbuf *eb)
{
    return netns_enter(nn, nn->ctl.name, eb);
}

int netns_leave(struct netns *nn)
{
    int r = 0;

    if (nn->home_fd < 0) {
        return 0;
    }
    if (setns(nn->home_fd, CLONE_NEWNET) < 0) {
        r = -errno;
    }
    (void) close(nn->home_fd);
    nn->home_fd = -1;
    return r;
}

/* In the spawned child, before execve: join the namespace named by arg. */
static int netns_join_arg(void *arg)
{
    return netns_join((const char *) arg);
}

int netns_spawn(const char *name, const char *const argv[], const char *log_path, pid_t *ret_pid)
{
    if (!name || !argv || !argv[0]) {
        return -EINVAL;
    }
    return tu_spawn_with(argv, log_path, netns_join_arg, (void *) name, ret_pid);
}

const char **netns_exec_argv(const char *name, const char *const argv[])
{
    size_t n = 0;
    const char **out;
    const char *ip = netns_ip_path();

    while (argv[n]) {
        n++;
    }
    out = xcalloc(n + 5, sizeof(*out));
    out[0] = ip ? ip : "/usr/sbin/ip";
    out[1] = "netns";
    out[2] = "exec";
    out[3] = name;
    for (size_t i = 0; i < n; i++) {
        out[4 + i] = argv[i];
    }
    out[4 + n] = NULL;
    return out;
}

/* ---- support check and teardown -------------------------------------------------------- */

bool netns_supported(const char *test)
{
    static int cached = -1; /* -1 unknown, 0 no, 1 yes */
    static char why[200];
    char probe[32];
    const char *add[] = {"netns", "add", probe, NULL};
    const char *del[] = {"netns", "delete", probe, NULL};
    struct errbuf eb = {{0}};

    if (cached < 0) {
        (void) snprintf(probe, sizeof(probe), "og%dprobe", (int) getpid());
        cached = 0;
        if (geteuid() != 0) {
            (void) str_copy(why, sizeof(why), "not root");
        } else if (!netns_ip_path()) {
            (void) str_copy(why, sizeof(why), "ip(8) not installed");
        } else if (netns_ip(add, &eb) < 0) {
            (void) snprintf(why, sizeof(why), "ip netns add failed: %s", eb.msg);
        } else {
            cached = netns_ip(del, &eb) == 0 ? 1 : 0;
            (void) snprintf(why, sizeof(why), "ip netns delete failed: %s", eb.msg);
        }
    }
    if (cached == 0) {
        fprintf(stderr, "\n  SKIPPED: %s: network namespaces unavailable (%s)\n", test, why);
    }
    return cached == 1;
}

int netns_teardown(struct netns *nn)
{
    int r, k;

    if (!nn->active) {
        return 0;
    }
    r = netns_leave(nn);
    k = netns_delete_prefix(nn->prefix);
    r = r < 0 ? r : k;
    if (netns_count_prefix(nn->prefix) > 0) {
        r = r < 0 ? r : -EBUSY;
    }
    if (nn->watchdog_fd >= 0) {
        /* All gone: dismiss the watchdog. Otherwise EOF makes it try once more. */
        if (r == 0) {
            (void) !write(nn->watchdog_fd, "q\n", 2);
        }
        (void) close(nn->watchdog_fd);
        nn->watchdog_fd = -1;
        (void) tu_wait_exit(nn->watchdog_pid, 30000, NULL);
    }
    nn->active = false;
    return r;
}
