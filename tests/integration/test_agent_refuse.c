/*
 * tests/integration/test_agent_refuse.c
 *
 * Orders the agent must refuse, each with a clear error and nothing touched (the running
 * primary keeps its postmaster, its epoch file and its role): an order with a lower epoch;
 * an answer that is not JSON; desired states with names carrying shell metacharacters or
 * climbing out of the root; a cluster directory that is a symbolic link out of the root; a
 * member asking for more storage than the disk has (it stays "creating", no initdb).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mem.h"
#include "tests/support/agent_harness.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define WAIT_MS 60000

static struct ah H;
static pid_t primary_pid;

#define SKIP_AFTER_FAILURE()                            \
    do {                                                \
        if (CU_get_number_of_failures() > 0) {          \
            CU_FAIL("skipped: an earlier step failed"); \
            return;                                     \
        }                                               \
    } while (0)

/* Waits until the report of member (on node1) has an error containing needle. */
static bool wait_error(const char *member, const char *needle)
{
    struct proto_report *rep = xcalloc(1, sizeof(*rep));
    const struct proto_instance_report *ir = NULL;
    bool ok = false;

    for (int k = 0; k < 600 && !ok; k++) {
        if (fake_arbiter_report(H.fa, "node1", rep)) {
            ir = fake_report_find(rep, member);
        }
        ok = ir && strstr(ir->last_error, needle) != NULL;
        if (!ok) {
            tu_sleep_ms(100);
        }
    }
    if (!ok) {
        fprintf(stderr, "\n  %s: no error with '%s' (last: '%s')\n", member, needle,
                ir ? ir->last_error : "-");
    }
    free(rep);
    return ok;
}

/* The primary as it was: same postmaster, running primary, epoch 2 reported and stored. */
static void assert_untouched(void)
{
    struct proto_instance_report r;
    char path[PATH_MAX + 64];
    char *epoch;

    CU_ASSERT_EQUAL(ah_postmaster_pid(&H, 0), primary_pid);
    CU_ASSERT_TRUE(tu_pid_alive(primary_pid));
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.state == PROTO_STATE_RUNNING &&
                   r.role == PROTO_ROLE_PRIMARY && r.epoch == 2 && r.pid == primary_pid);
    (void) snprintf(path, sizeof(path), "%s/default/demo/epoch", H.nodes[0].root);
    epoch = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL(epoch);
    CU_ASSERT(epoch && strcmp(epoch, "2\n") == 0);
    free(epoch);
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES (1)", NULL, 0), 0);
}

static void test_agent_refuse_setup(void)
{
    H.epoch = 2;
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v int)", NULL, 0), 0);
    primary_pid = ah_postmaster_pid(&H, 0);
    CU_ASSERT(primary_pid > 0);
}

static void test_agent_refuse_lower_epoch(void)
{
    SKIP_AFTER_FAILURE();
    H.epoch = 1;
    ah_publish_role(&H, 0, PROTO_ROLE_STANDBY, -1); /* an old arbiter demoting it */
    H.epoch = 2;
    CU_ASSERT_TRUE(wait_error("demo-0", "epoch 1 is older than epoch 2"));
    tu_sleep_ms(1500); /* several ticks: still nothing done */
    assert_untouched();
    CU_ASSERT(ah_log_count(&H, 0, "order refused") >= 1);
    CU_ASSERT_EQUAL(ah_log_count(&H, 0, "\"action\":\"demote\""), 0);
    /* The current order again: the error goes away. */
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    for (int k = 0; k < 100; k++) {
        struct proto_instance_report r;
        if (ah_report(&H, 0, &r) && !r.last_error[0]) {
            break;
        }
        tu_sleep_ms(100);
    }
    assert_untouched();
}

static void test_agent_refuse_garbage(void)
{
    SKIP_AFTER_FAILURE();
    fake_arbiter_set_raw(H.fa, "node1", "this is not JSON {");
    CU_ASSERT_TRUE(wait_error("demo-0", "desired state refused"));
    assert_untouched();
    fake_arbiter_set_raw(H.fa, "node1", NULL);
}

/* A valid desired state for node1 with text replaced (to smuggle in a bad name). */
static char *doctored(const char *from, const char *to)
{
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    char *text, *at, *out;

    proto_desired_init(d);
    (void) snprintf(d->node, sizeof(d->node), "node1");
    d->heartbeat_ms = 500;
    d->generation = 1000;
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, &d->instances[0]);
    d->n_instances = 1;
    text = proto_desired_encode(d);
    at = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    out = xasprintf("%.*s%s%s", (int) (at - text), text, to, at + strlen(from));
    free(text);
    free(d);
    return out;
}

static void test_agent_refuse_bad_names(void)
{
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
            {"\"demo-0\"", "\"demo-0;touch /tmp/og-pwned\"", "member"},
            {"\"demo-0\"", "\"../../../etc\"", "member"},
            {"\"demo\"", "\"$(reboot)\"", "cluster"},
            {"\"default\"", "\"a b\"", "namespace"},
    };

    SKIP_AFTER_FAILURE();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = doctored(cases[i].from, cases[i].to);

        fake_arbiter_set_raw(H.fa, "node1", text);
        CU_ASSERT_TRUE(wait_error("demo-0", cases[i].needle));
        fake_arbiter_set_raw(H.fa, "node1", NULL);
        free(text);
    }
    CU_ASSERT_NOT_EQUAL(access("/tmp/og-pwned", F_OK), 0);
    assert_untouched();
}

static void test_agent_refuse_escape_and_space(void)
{
    struct proto_instance_desired *o = xcalloc(3, sizeof(*o));
    char outside[PATH_MAX], link[PATH_MAX + 32], data[PATH_MAX + 64], dir[PATH_MAX + 32];

    SKIP_AFTER_FAILURE();
    /* ROOT/default/evil leads out of the root. */
    (void) snprintf(outside, sizeof(outside), "%s/outside", H.tmpdir);
    (void) snprintf(link, sizeof(link), "%s/default/evil", H.nodes[0].root);
    CU_ASSERT_EQUAL_FATAL(mkdir(outside, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(outside, link), 0);
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, &o[0]);
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, &o[1]);
    (void) snprintf(o[1].cluster, sizeof(o[1].cluster), "evil");
    (void) snprintf(o[1].member, sizeof(o[1].member), "evil-0");
    o[1].port = H.nodes[0].port + 1;
    /* A petabyte: more than this disk has. */
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, &o[2]);
    (void) snprintf(o[2].cluster, sizeof(o[2].cluster), "big");
    (void) snprintf(o[2].member, sizeof(o[2].member), "big-0");
    o[2].port = H.nodes[0].port + 2;
    o[2].storage_bytes = 1000ULL * 1000 * 1000 * 1000 * 1000;
    ah_publish(&H, 0, o, 3);
    CU_ASSERT_TRUE(wait_error("evil-0", "outside the root"));
    CU_ASSERT_TRUE(wait_error("big-0", "not enough free space"));
    tu_sleep_ms(1500);
    CU_ASSERT_TRUE(wait_error("big-0", "not enough free space"));
    /* Nothing written through the link, no initdb for the big one. */
    (void) snprintf(dir, sizeof(dir), "%s/evil-0", outside);
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
    (void) snprintf(dir, sizeof(dir), "%s/epoch", outside);
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
    (void) snprintf(data, sizeof(data), "%s/default/big/big-0/data/PG_VERSION", H.nodes[0].root);
    CU_ASSERT_NOT_EQUAL(access(data, F_OK), 0);
    CU_ASSERT(fake_arbiter_seen_state(H.fa, "node1", "big-0", PROTO_STATE_CREATING));
    assert_untouched();
    free(o);
}

static int suite_init(void)
{
    return ah_setup(&H, 1, 170) < 0 ? 1 : 0;
}

static int suite_cleanup(void)
{
    if (CU_get_number_of_failures() > 0) {
        ah_dump_log(&H, 0);
    }
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"a primary to protect", test_agent_refuse_setup},
            {"lower epoch refused", test_agent_refuse_lower_epoch},
            {"garbage answer refused", test_agent_refuse_garbage},
            {"bad names refused", test_agent_refuse_bad_names},
            {"path out of the root, storage beyond the disk", test_agent_refuse_escape_and_space},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_refuse", tests, suite_init, suite_cleanup);
}
