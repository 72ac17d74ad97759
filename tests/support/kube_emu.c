/*
 * tests/support/kube_emu.c
 *
 * Launcher of the Kubernetes API-server emulator for C tests (see kube_emu.h): one process
 * per struct kube_emu, in its own session, with its own temporary directory holding its
 * kubeconfig, port file, state file and log. Extracted from test_kube_client.c so that the
 * kpub and controller tests share it. Errors are returned, never asserted.
 *
 * Layer: shell (test support)
 */
#include "tests/support/kube_emu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/proc.h"
#include "common/str.h"
#include "tests/support/testutil.h"

#define KUBE_EMU_START_MS 10000
#define KUBE_EMU_STOP_MS  5000
#define KUBE_EMU_ARGV_MAX (16 + KUBE_EMU_MAX_EXTRA)

bool kube_emu_present(void)
{
    if (access(KUBE_EMU_PY, R_OK) == 0 && access(KUBE_EMU_PYTHON, X_OK) == 0) {
        return true;
    }
    printf("\n  SKIPPED: %s (or %s) is missing: emulator tests not run\n", KUBE_EMU_PY,
           KUBE_EMU_PYTHON);
    return false;
}

bool kube_emu_kubectl_present(void)
{
    if (access(KUBE_EMU_KUBECTL, X_OK) == 0) {
        return true;
    }
    printf("\n  SKIPPED: %s is missing: kubectl checks not run\n", KUBE_EMU_KUBECTL);
    return false;
}

/* Up (port file written), or dead (it exited: a port still in use, a bad argument). */
static bool up_or_dead(void *arg)
{
    const struct kube_emu *e = arg;
    struct stat st;

    return (stat(e->port_file, &st) == 0 && st.st_size > 0) || !tu_pid_alive(e->pid);
}

/* Reads the port the emulator wrote; 0 or -EINVAL. */
static int read_port(struct kube_emu *e, struct errbuf *eb)
{
    char *text = tu_read_file(e->port_file);
    uint32_t p = 0;
    int r;

    if (text) {
        text[strcspn(text, "\n")] = '\0';
    }
    r = str_to_u32(text, 1, 65535, &p);
    free(text);
    if (r < 0) {
        errbuf_set(eb, "emulator port file %s: bad content", e->port_file);
        return -EINVAL;
    }
    e->port = (uint16_t) p;
    return 0;
}

/* Spawns the emulator with e's files, port and arguments; waits for its port file. */
static int spawn(struct kube_emu *e, uint16_t port, struct errbuf *eb)
{
    static const char emu_py[] = KUBE_EMU_PY;
    const char *argv[KUBE_EMU_ARGV_MAX];
    char listen[64];
    unsigned n = 0;
    int r;

    (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    argv[n++] = KUBE_EMU_PYTHON;
    argv[n++] = emu_py;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--token";
    argv[n++] = e->token;
    argv[n++] = "--kubeconfig";
    argv[n++] = e->kubeconfig;
    argv[n++] = "--port-file";
    argv[n++] = e->port_file;
    argv[n++] = "--state";
    argv[n++] = e->state;
    argv[n++] = "--bookmark-interval";
    argv[n++] = "0.5";
    argv[n++] = "--tls";
    for (unsigned i = 0; i < e->n_extra; i++) {
        argv[n++] = e->extra[i];
    }
    argv[n] = NULL;
    (void) unlink(e->port_file);
    r = tu_spawn(argv, e->log, &e->pid);
    if (r < 0) {
        errbuf_set(eb, "cannot start %s: errno %d", KUBE_EMU_PY, -r);
        e->pid = 0;
        return r;
    }
    if (!tu_wait_until(up_or_dead, e, KUBE_EMU_START_MS, 20) || !tu_pid_alive(e->pid)) {
        bool dead = !tu_pid_alive(e->pid);

        errbuf_set(eb, "emulator %s; see %s", dead ? "exited at start" : "did not come up in time",
                   e->log);
        (void) tu_kill_wait(e->pid, SIGKILL, 2000); /* reaps it when it exited */
        e->pid = 0;
        return dead ? -EADDRINUSE : -ETIMEDOUT;
    }
    return read_port(e, eb);
}

int kube_emu_start(struct kube_emu *e, const char *name, const char *token, uint16_t port,
                   const char *const *extra, struct errbuf *eb)
{
    char *prefix = NULL;
    char *dir = NULL;
    int r;

    memset(e, 0, sizeof(*e));
    for (; extra && extra[e->n_extra]; e->n_extra++) {
        if (e->n_extra == KUBE_EMU_MAX_EXTRA ||
            str_copy(e->extra[e->n_extra], sizeof(e->extra[0]), extra[e->n_extra]) < 0) {
            errbuf_set(eb, "kube_emu_start: too many or too long extra arguments");
            return -EINVAL;
        }
    }
    if (str_copy(e->token, sizeof(e->token), token) < 0) {
        errbuf_set(eb, "kube_emu_start: token too long");
        return -EINVAL;
    }
    prefix = xasprintf("/tmp/og-kemu-%s-", name);
    r = fs_mkdtemp(prefix, &dir, eb);
    free(prefix);
    if (r < 0) {
        return r;
    }
    (void) str_copy(e->dir, sizeof(e->dir), dir);
    free(dir);
    (void) snprintf(e->kubeconfig, sizeof(e->kubeconfig), "%s/kubeconfig", e->dir);
    (void) snprintf(e->port_file, sizeof(e->port_file), "%s/port", e->dir);
    (void) snprintf(e->state, sizeof(e->state), "%s/state.json", e->dir);
    (void) snprintf(e->log, sizeof(e->log), "%s/emulator.log", e->dir);
    r = spawn(e, port, eb);
    if (r < 0) {
        (void) kube_emu_stop(e);
    }
    return r;
}

int kube_emu_kill(struct kube_emu *e)
{
    int r = 0;

    if (e && e->pid > 0) {
        (void) kill(-e->pid, SIGCONT); /* in case a test left it stopped */
        r = tu_kill_wait(e->pid, SIGTERM, KUBE_EMU_STOP_MS);
        e->pid = 0;
    }
    return r;
}

int kube_emu_restart(struct kube_emu *e, const char *token, struct errbuf *eb)
{
    uint64_t end = tu_now_ms() + KUBE_EMU_START_MS;
    int r = -EINVAL;

    if (e->pid > 0 || e->dir[0] == '\0') {
        errbuf_set(eb, "kube_emu_restart: still running, or never started");
        return -EINVAL;
    }
    if (token && str_copy(e->token, sizeof(e->token), token) < 0) {
        errbuf_set(eb, "kube_emu_restart: token too long");
        return -EINVAL;
    }
    /* The old socket may linger for a moment: retry a bounded number of times. */
    for (unsigned attempt = 0; attempt < 10 && tu_now_ms() < end; attempt++) {
        r = spawn(e, e->port, eb);
        if (r == 0) {
            return 0;
        }
        tu_sleep_ms(200);
    }
    return r;
}

int kube_emu_stop(struct kube_emu *e)
{
    int r;
    int r2 = 0;

    if (!e) {
        return 0;
    }
    r = kube_emu_kill(e);
    if (e->dir[0] != '\0') {
        r2 = tu_rmtree(e->dir);
        e->dir[0] = '\0';
    }
    return r < 0 ? r : r2;
}

int kube_emu_freeze(struct kube_emu *e, bool freeze)
{
    if (e->pid <= 0) {
        return -ESRCH;
    }
    return kill(-e->pid, freeze ? SIGSTOP : SIGCONT) < 0 ? -errno : 0;
}

const char *kube_emu_kubeconfig_path(const struct kube_emu *e)
{
    return e->kubeconfig;
}

int kube_emu_config(const struct kube_emu *e, const char *token_file, struct kube_config *ret,
                    struct errbuf *eb)
{
    int r = kube_config_from_kubeconfig(e->kubeconfig, NULL, ret, eb);

    if (r < 0) {
        return r;
    }
    if (token_file && str_copy(ret->token_file, sizeof(ret->token_file), token_file) < 0) {
        kube_config_done(ret);
        errbuf_set(eb, "token file name too long");
        return -ENAMETOOLONG;
    }
    return 0;
}

struct kube_client *kube_emu_client(const struct kube_emu *e, const char *token_file,
                                    struct errbuf *eb)
{
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kube_client *kc = NULL;

    if (kube_emu_config(e, token_file, cfg, eb) == 0) {
        kc = kube_client_new(cfg, eb);
        kube_config_done(cfg);
    }
    free(cfg);
    return kc;
}

int kube_emu_control(struct kube_client *kc, const char *path, struct errbuf *eb)
{
    cJSON *empty = json_new_object();
    int r = kube_create(kc, path, empty, NULL, NULL, eb);

    cJSON_Delete(empty);
    return r;
}

int kube_emu_kubectl(const struct kube_emu *e, const char *const *args, const char *stdin_data,
                     uint64_t timeout_ms, char **ret_out, struct errbuf *eb)
{
    const char *argv[64];
    struct proc_spec spec;
    struct proc_result res;
    unsigned n = 0;
    int r;

    argv[n++] = KUBE_EMU_KUBECTL;
    argv[n++] = "--kubeconfig";
    argv[n++] = e->kubeconfig;
    for (; args && args[n - 3]; n++) {
        if (n == 63) {
            errbuf_set(eb, "kube_emu_kubectl: too many arguments");
            return -E2BIG;
        }
        argv[n] = args[n - 3];
    }
    argv[n] = NULL;
    spec = PROC_SPEC_INIT(argv);
    spec.timeout_ms = timeout_ms ? timeout_ms : 30000;
    spec.kill_grace_ms = 1000;
    spec.stdin_data = stdin_data;
    r = proc_run(&spec, &res, eb);
    if (r == 0) {
        r = res.exit_code < 0 ? -EINTR : res.exit_code;
        if (r != 0) {
            errbuf_set(eb, "kubectl exit %d: %.200s", res.exit_code, res.err ? res.err : "");
        }
        if (ret_out) {
            *ret_out = res.out ? res.out : xstrdup("");
            res.out = NULL;
        }
    }
    proc_result_done(&res);
    return r;
}
