/*
 * common/signals.c
 *
 * Layer: edge (POSIX signals). The handlers are async-signal-safe: they touch only
 * volatile sig_atomic_t flags and write(2) one byte to the self-pipe, saving errno around
 * it. A full pipe is fine (a wakeup is already pending), which is why the write end is
 * non-blocking. Handlers use SA_RESTART so that a signal does not break blocking calls the
 * rest of the program did not expect to be interrupted; the loop is woken by the pipe.
 */
#include "common/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t signals_stop_flag;
static volatile sig_atomic_t signals_reload_flag;
static int signals_pipe_rd = -1;
static int signals_pipe_wr = -1;

static void signals_wake(void)
{
    int saved = errno;
    char c = 1;

    if (signals_pipe_wr >= 0 && write(signals_pipe_wr, &c, 1) < 0) {
        /* EAGAIN: the pipe is full, so the poller will wake anyway. */
    }
    errno = saved;
}

static void signals_handler(int sig)
{
    if (sig == SIGHUP) {
        signals_reload_flag = 1;
    } else {
        signals_stop_flag = 1;
    }
    signals_wake();
}

static int signals_install(int sig, void (*handler)(int), struct errbuf *eb)
{
    struct sigaction sa;
    char msg[128];

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    (void) sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0) {
        int r = -errno;
        errbuf_set(eb, "sigaction(%d): %s", sig, strerror_r(-r, msg, sizeof(msg)));
        return r;
    }
    return 0;
}

int signals_setup(struct errbuf *eb)
{
    static const int handled[] = {SIGTERM, SIGINT, SIGHUP};
    int fds[2] = {-1, -1};
    char msg[128];
    int r;

    if (signals_pipe_rd >= 0) {
        return 0;
    }
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        r = -errno;
        errbuf_set(eb, "signal self-pipe: %s", strerror_r(-r, msg, sizeof(msg)));
        return r;
    }
    /* Publish the pipe before any handler can run. */
    signals_pipe_rd = fds[0];
    signals_pipe_wr = fds[1];
    r = signals_install(SIGPIPE, SIG_IGN, eb);
    for (size_t i = 0; r == 0 && i < sizeof(handled) / sizeof(handled[0]); i++) {
        r = signals_install(handled[i], signals_handler, eb);
    }
    return r;
}

int signals_fd(void)
{
    return signals_pipe_rd;
}

void signals_drain(void)
{
    char buf[512];

    if (signals_pipe_rd < 0) {
        return;
    }
    /* Bounded: 1024 reads of 512 bytes exceed the pipe's capacity (64 KiB by default). */
    for (int i = 0; i < 1024; i++) {
        ssize_t n = read(signals_pipe_rd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < (ssize_t) sizeof(buf)) {
            return;
        }
    }
}

bool signals_should_stop(void)
{
    return signals_stop_flag != 0;
}

bool signals_take_reload(void)
{
    /* A SIGHUP landing between the test and the clear merges with this one, which is what a
     * reload (re-reading everything) wants. */
    if (!signals_reload_flag) {
        return false;
    }
    signals_reload_flag = 0;
    return true;
}

void signals_request_stop(void)
{
    signals_stop_flag = 1;
    signals_wake();
}
