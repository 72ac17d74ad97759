/*
 * tests/unit/test_agent_state.c
 *
 * agent/state: the member file keeps, beside the order, the instance record's memo (restarts
 * counted in the window as wall-clock times, FAILED with its reason, the self-fencing latch)
 * across a store and a load; a file of an older agent (no memo) still loads, with an empty
 * memo; a malformed memo is refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/state.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 32];

static struct state_member *sample(void)
{
    struct state_member *m = xcalloc(1, sizeof(*m));

    m->was_primary = true;
    m->memo.n_restarts = 2;
    m->memo.restart_wall_ms[0] = 1700000000000ULL;
    m->memo.restart_wall_ms[1] = 1700000005000ULL;
    m->memo.failed = true;
    m->memo.self_fenced = true;
    m->memo.was_running = false;
    (void) str_copy(m->memo.reason, sizeof(m->memo.reason), "restart limit reached");
    return m;
}

static void test_agent_state_memo_round_trip(void)
{
    struct state_member *m = sample();
    struct state_member *back = xcalloc(1, sizeof(*back));
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(state_member_store(path, "node1", m, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(state_member_load(path, back, &eb), 0);
    CU_ASSERT_TRUE(back->was_primary);
    CU_ASSERT_EQUAL(back->memo.n_restarts, 2);
    CU_ASSERT_EQUAL(back->memo.restart_wall_ms[0], 1700000000000ULL);
    CU_ASSERT_EQUAL(back->memo.restart_wall_ms[1], 1700000005000ULL);
    CU_ASSERT_TRUE(back->memo.failed);
    CU_ASSERT_TRUE(back->memo.self_fenced);
    CU_ASSERT_FALSE(back->memo.was_running);
    CU_ASSERT_STRING_EQUAL(back->memo.reason, "restart limit reached");
    free(back);
    free(m);
}

static void test_agent_state_old_file(void)
{
    const char *old = "{\"version\":1,\"was_primary\":true,\"rebuilt\":false,\"rebuilt_epoch\":0,"
                      "\"ctl_stopped\":false,\"order\":{\"version\":1,\"node\":\"node1\","
                      "\"generation\":0,\"heartbeat_ms\":1000,\"instances\":[]}}";
    struct state_member *back = xcalloc(1, sizeof(*back));
    struct errbuf eb = {{0}};
    int r;

    CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, old, strlen(old), 0600, &eb), 0);
    r = state_member_load(path, back, &eb);
    if (r < 0) {
        fprintf(stderr, "\n  load: %s\n", eb.msg);
    }
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_TRUE(back->was_primary);
    CU_ASSERT_EQUAL(back->memo.n_restarts, 0);
    CU_ASSERT_FALSE(back->memo.failed);
    free(back);
}

static void test_agent_state_bad_memo(void)
{
    const char *bad = "{\"version\":1,\"was_primary\":true,\"rebuilt\":false,\"rebuilt_epoch\":0,"
                      "\"ctl_stopped\":false,\"memo\":{\"restarts\":[\"x\"],\"failed\":false,"
                      "\"self_fenced\":false,\"was_running\":true,\"reason\":\"\"},"
                      "\"order\":{\"version\":1,\"node\":\"node1\",\"generation\":0,"
                      "\"heartbeat_ms\":1000,\"instances\":[]}}";
    struct state_member *back = xcalloc(1, sizeof(*back));
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, bad, strlen(bad), 0600, &eb), 0);
    CU_ASSERT_EQUAL(state_member_load(path, back, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "restarts"));
    free(back);
}

static int suite_init(void)
{
    if (tu_mkdtemp(dir, sizeof(dir)) < 0) {
        return 1;
    }
    (void) snprintf(path, sizeof(path), "%s/m.agent.json", dir);
    return 0;
}

static int suite_cleanup(void)
{
    (void) tu_rmtree(dir);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"memo survives store and load", test_agent_state_memo_round_trip},
            {"file of an older agent: empty memo", test_agent_state_old_file},
            {"malformed memo refused", test_agent_state_bad_memo},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_state", tests, suite_init, suite_cleanup);
}
