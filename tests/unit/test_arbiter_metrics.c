/*
 * tests/unit/test_arbiter_metrics.c
 *
 * arbiter/metrics: the figures a scrape sees come from the published snapshot's views and
 * agents; unknown lag is absent, not zero; no snapshot yet still answers.
 */
#include <stdlib.h>
#include <string.h>

#include "arbiter/metrics.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

static const char view_demo[] =
        "{\"namespace\":\"default\",\"name\":\"demo\",\"state\":\"ready\",\"epoch\":4,"
        "\"primary\":\"demo-1\",\"members\":["
        "{\"name\":\"demo-0\",\"node\":\"node1\",\"role\":\"standby\",\"state\":\"running\","
        "\"lagbytes\":128,\"sync\":\"quorum\"},"
        "{\"name\":\"demo-1\",\"node\":\"node2\",\"role\":\"primary\",\"state\":\"running\","
        "\"lagbytes\":0,\"sync\":null},"
        "{\"name\":\"demo-2\",\"node\":\"node3\",\"role\":\"unknown\",\"state\":\"stopped\","
        "\"lagbytes\":null,\"sync\":null}]}";

static const char view_new[] = "{\"namespace\":\"prod\",\"name\":\"fresh\",\"state\":\"creating\","
                               "\"epoch\":0,\"primary\":null,\"members\":[]}";

static void test_metrics_from_snapshot(void)
{
    struct world_snap_cluster clusters[2];
    struct world_snap_node nodes[2];
    struct world_snapshot snap = {
            .n_clusters = 2, .clusters = clusters, .n_nodes = 2, .nodes = nodes};
    char *text;

    memset(clusters, 0, sizeof(clusters));
    memset(nodes, 0, sizeof(nodes));
    (void) str_copy(clusters[0].ns, sizeof(clusters[0].ns), "default");
    (void) str_copy(clusters[0].name, sizeof(clusters[0].name), "demo");
    clusters[0].view = xstrdup(view_demo);
    (void) str_copy(clusters[1].ns, sizeof(clusters[1].ns), "prod");
    (void) str_copy(clusters[1].name, sizeof(clusters[1].name), "fresh");
    clusters[1].view = xstrdup(view_new);
    (void) str_copy(nodes[0].node, sizeof(nodes[0].node), "node1");
    nodes[0].has_agent = true;
    nodes[0].agent.last_seen_wall_ms = 99500;
    nodes[0].agent.instances = 1;
    (void) str_copy(nodes[1].node, sizeof(nodes[1].node), "node9"); /* never reported */

    text = arbiter_metrics(&snap, true, 100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strstr(text, "og_arbiter_leader 1\n") != NULL);
    CU_ASSERT(strstr(text, "og_arbiter_clusters 2\n") != NULL);
    CU_ASSERT(strstr(text, "og_cluster_epoch{namespace=\"default\",name=\"demo\"} 4\n") != NULL);
    CU_ASSERT(strstr(text, "og_cluster_state{namespace=\"default\",name=\"demo\",state=\"ready\"} "
                           "1\n") != NULL);
    CU_ASSERT(strstr(text, "og_cluster_state{namespace=\"default\",name=\"demo\",state=\"failed\"} "
                           "0\n") != NULL);
    CU_ASSERT(strstr(text, "og_cluster_has_primary{namespace=\"default\",name=\"demo\"} 1\n") !=
              NULL);
    CU_ASSERT(strstr(text, "og_cluster_has_primary{namespace=\"prod\",name=\"fresh\"} 0\n") !=
              NULL);
    CU_ASSERT(strstr(text, "og_member_lag_bytes{namespace=\"default\",name=\"demo\",member=\"demo-"
                           "0\",node=\"node1\",role=\"standby\",state=\"running\"} 128\n") != NULL);
    CU_ASSERT(strstr(text, "og_member_lag_bytes{namespace=\"default\",name=\"demo\",member=\"demo-"
                           "2\"") == NULL); /* unknown lag: no sample */
    CU_ASSERT(strstr(text,
                     "og_member_synchronous{namespace=\"default\",name=\"demo\",member="
                     "\"demo-0\",node=\"node1\",role=\"standby\",state=\"running\"} 1\n") != NULL);
    CU_ASSERT(strstr(text, "og_agent_last_report_age_seconds{node=\"node1\"} 0.5\n") != NULL);
    CU_ASSERT(strstr(text, "node=\"node9\"") == NULL);
    free(text);
    free(clusters[0].view);
    free(clusters[1].view);
}

static void test_metrics_without_snapshot(void)
{
    char *text = arbiter_metrics(NULL, false, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strstr(text, "og_arbiter_leader 0\n") != NULL);
    CU_ASSERT(strstr(text, "og_arbiter_clusters 0\n") != NULL);
    free(text);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"figures from the snapshot", test_metrics_from_snapshot},
            {"no snapshot yet", test_metrics_without_snapshot},
            CU_TEST_INFO_NULL,
    };

    return cu_run("arbiter_metrics", tests);
}
