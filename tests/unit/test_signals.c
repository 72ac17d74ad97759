/*
 * tests/unit/test_signals.c
 *
 * common/signals: real signals raised at ourselves set the flags and make the self-pipe
 * readable; draining empties it; SIGPIPE is ignored.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "common/signals.h"
#include "tests/support/cu_main.h"

/* True when the self-pipe has a byte waiting (no blocking). */
static bool test_signals_readable(void)
{
    struct pollfd p = {.fd = signals_fd(), .events = POLLIN};

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_signals_setup_is_idempotent(void)
{
    struct errbuf eb = {{0}};
    int fd;

    CU_ASSERT_EQUAL(signals_setup(&eb), 0);
    fd = signals_fd();
    CU_ASSERT_TRUE(fd >= 0);
    CU_ASSERT_EQUAL(signals_setup(&eb), 0);
    CU_ASSERT_EQUAL(signals_fd(), fd);
    signals_drain();
    CU_ASSERT_FALSE(test_signals_readable());
    CU_ASSERT_FALSE(signals_should_stop());
    CU_ASSERT_FALSE(signals_take_reload());
}

static void test_signals_hup_sets_reload_once(void)
{
    CU_ASSERT_EQUAL(raise(SIGHUP), 0);
    CU_ASSERT_TRUE(test_signals_readable());
    CU_ASSERT_FALSE(signals_should_stop());
    CU_ASSERT_TRUE(signals_take_reload());
    CU_ASSERT_FALSE(signals_take_reload());
    signals_drain();
    CU_ASSERT_FALSE(test_signals_readable());
}

static void test_signals_pipe_is_ignored(void)
{
    /* With the default disposition this would end the test program. */
    CU_ASSERT_EQUAL(raise(SIGPIPE), 0);
    CU_ASSERT_FALSE(signals_should_stop());
    CU_ASSERT_FALSE(test_signals_readable());
}

static void test_signals_term_sets_stop(void)
{
    /* More signals than the pipe holds: the handler must not block on a full pipe. */
    for (int i = 0; i < 70000; i++) {
        (void) raise(SIGINT);
    }
    CU_ASSERT_TRUE(signals_should_stop());
    signals_drain();
    CU_ASSERT_FALSE(test_signals_readable());
    CU_ASSERT_EQUAL(raise(SIGTERM), 0);
    CU_ASSERT_TRUE(signals_should_stop());
    CU_ASSERT_TRUE(test_signals_readable());
    signals_drain();
    CU_ASSERT_FALSE(test_signals_readable());
    signals_request_stop();
    CU_ASSERT_TRUE(signals_should_stop());
    CU_ASSERT_TRUE(test_signals_readable());
    signals_drain();
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"setup is idempotent", test_signals_setup_is_idempotent},
            {"HUP sets reload once", test_signals_hup_sets_reload_once},
            {"PIPE is ignored", test_signals_pipe_is_ignored},
            {"TERM and INT set stop", test_signals_term_sets_stop},
            CU_TEST_INFO_NULL,
    };
    return cu_run("signals", tests);
}
