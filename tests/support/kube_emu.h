/*
 * tests/support/kube_emu.h
 *
 * Runs the Kubernetes API-server emulator (tests/kube/emulator.py, python3) for C tests:
 * start it over TLS in a fresh temporary directory (kubeconfig, port file, --state file and
 * log there), stop it by PID (SIGTERM, then SIGKILL) and remove the directory, kill it and
 * restart it on the same port with the same objects, build clients and configs from its
 * kubeconfig, post /_emu controls, and run kubectl against it with a timeout.
 *
 * Test support only. Nothing here uses CUnit assertions: functions return 0 or -errno with
 * a message in eb, and tests assert. Every wait is bounded.
 */
#ifndef OG_TESTS_KUBE_EMU_H
#define OG_TESTS_KUBE_EMU_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errbuf.h"
#include "common/kube.h"
#include "common/kube_config.h"

#define KUBE_EMU_PY        OG_SOURCE_DIR "/tests/kube/emulator.py"
#define KUBE_EMU_PYTHON    "/usr/bin/python3"
#define KUBE_EMU_KUBECTL   "/usr/bin/kubectl"
#define KUBE_EMU_MAX_EXTRA 8
#define KUBE_EMU_ARG_MAX   256

/* One emulator process. Zero-initialise ({0}) before kube_emu_start(). */
struct kube_emu {
    pid_t pid;                 /* its process group too; 0 when not running */
    uint16_t port;             /* 127.0.0.1 port it listens on (kept across a restart) */
    char dir[PATH_MAX];        /* its own temporary directory; "" when none */
    char kubeconfig[PATH_MAX]; /* dir/kubeconfig: https://127.0.0.1:port, CA data, token */
    char port_file[PATH_MAX];  /* dir/port */
    char state[PATH_MAX];      /* dir/state.json: objects survive a restart */
    char log[PATH_MAX];        /* dir/emulator.log: its stdout and stderr */
    char token[KUBE_EMU_ARG_MAX];
    char extra[KUBE_EMU_MAX_EXTRA][KUBE_EMU_ARG_MAX]; /* extra arguments, kept for restarts */
    unsigned n_extra;
};

/*
 * True when python3 and tests/kube/emulator.py are there. When not, prints a loud
 * "SKIPPED" line naming what is missing (the caller then passes without testing).
 */
bool kube_emu_present(void);

/* True when kubectl is installed (KUBE_EMU_KUBECTL); prints a SKIPPED line when not. */
bool kube_emu_kubectl_present(void);

/*
 * Starts the emulator: a new directory $TMPDIR/og-kemu-<name>-XXXXXX, --tls, --token token,
 * --listen 127.0.0.1:port (0: any free port), --state, --kubeconfig, --bookmark-interval
 * 0.5, then extra (NULL-terminated, may be NULL; e.g. {"--history", "5", NULL}; at most
 * KUBE_EMU_MAX_EXTRA, copied). Waits up to 10 s for it to listen. 0 with e->pid and e->port
 * set; -errno with eb filled (the process and directory are cleaned up then).
 */
int kube_emu_start(struct kube_emu *e, const char *name, const char *token, uint16_t port,
                   const char *const *extra, struct errbuf *eb);

/*
 * Kills the emulator (SIGCONT in case it was stopped, SIGTERM to its group, SIGKILL after
 * 5 s) and reaps it, keeping its directory and state file for kube_emu_restart(). 0 (also
 * when it was not running) or -ETIMEDOUT when SIGKILL was needed.
 */
int kube_emu_kill(struct kube_emu *e);

/*
 * Starts the emulator again after kube_emu_kill(): same directory, port, state file and
 * extra arguments; token NULL keeps the old one. Waits up to 10 s (retrying while the port
 * is still held by the old process). 0 or -errno with eb filled.
 */
int kube_emu_restart(struct kube_emu *e, const char *token, struct errbuf *eb);

/* kube_emu_kill() and removes the directory. NULL-safe and idempotent. 0 or the first error. */
int kube_emu_stop(struct kube_emu *e);

/* SIGSTOP (freeze true) or SIGCONT to the emulator's group: unreachable, then back. 0/-errno. */
int kube_emu_freeze(struct kube_emu *e, bool freeze);

/* The kubeconfig the emulator wrote (valid while e is). */
const char *kube_emu_kubeconfig_path(const struct kube_emu *e);

/*
 * Loads the emulator's kubeconfig into *ret (kube_config_done() later). token_file (may be
 * NULL) replaces its static token with a token file. 0 or -errno with eb filled.
 */
int kube_emu_config(const struct kube_emu *e, const char *token_file, struct kube_config *ret,
                    struct errbuf *eb);

/* A client from kube_emu_config(); NULL with eb filled. Free with kube_client_free(). */
struct kube_client *kube_emu_client(const struct kube_emu *e, const char *token_file,
                                    struct errbuf *eb);

/* POSTs {} to an emulator control path ("/_emu/compact", "/_emu/fail?code=503&count=1"). */
int kube_emu_control(struct kube_client *kc, const char *path, struct errbuf *eb);

/*
 * Runs `kubectl --kubeconfig <e's> args...` (args NULL-terminated) with stdin_data (may be
 * NULL) and a timeout of timeout_ms (0: 30 s). *ret_out (may be NULL) is its stdout, owned by
 * the caller (free). Returns kubectl's exit code (>= 0; eb holds its stderr tail when not 0),
 * or -errno (-ETIMEDOUT, -ENOENT when kubectl is missing).
 */
int kube_emu_kubectl(const struct kube_emu *e, const char *const *args, const char *stdin_data,
                     uint64_t timeout_ms, char **ret_out, struct errbuf *eb);

#endif
