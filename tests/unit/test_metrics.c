/*
 * tests/unit/test_metrics.c
 *
 * common/metrics: the exposition text Prometheus parses, escaping, refusals that write
 * nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "tests/support/cu_main.h"

static void test_metrics_family_and_samples(void)
{
    struct metrics *m = metrics_new();
    const char *const cl[][2] = {{"namespace", "default"}, {"name", "demo"}};

    CU_ASSERT_EQUAL(metrics_family(m, "og_cluster_epoch", "gauge", "Current epoch"), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "og_cluster_epoch", cl, 2, 7), 0);
    CU_ASSERT_EQUAL(metrics_family(m, "og_reports_total", "counter", "Reports"), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "og_reports_total", NULL, 0, 12345678901.0), 0);
    CU_ASSERT_STRING_EQUAL(metrics_text(m),
                           "# HELP og_cluster_epoch Current epoch\n"
                           "# TYPE og_cluster_epoch gauge\n"
                           "og_cluster_epoch{namespace=\"default\",name=\"demo\"} 7\n"
                           "# HELP og_reports_total Reports\n"
                           "# TYPE og_reports_total counter\n"
                           "og_reports_total 12345678901\n");
    metrics_free(m);
}

static void test_metrics_values(void)
{
    struct metrics *m = metrics_new();

    CU_ASSERT_EQUAL(metrics_sample(m, "a", NULL, 0, 0.25), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "b", NULL, 0, -3), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "c", NULL, 0, NAN), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "d", NULL, 0, INFINITY), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "e", NULL, 0, -INFINITY), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "f", NULL, 0, 1e20), 0);
    CU_ASSERT_STRING_EQUAL(metrics_text(m), "a 0.25\nb -3\nc NaN\nd +Inf\ne -Inf\nf 1e+20\n");
    metrics_free(m);
}

static void test_metrics_escaping(void)
{
    struct metrics *m = metrics_new();
    const char *const l[][2] = {{"msg", "a\"b\\c\nd"}};

    CU_ASSERT_EQUAL(metrics_family(m, "x", "untyped", "line1\nback\\slash \"q\""), 0);
    CU_ASSERT_EQUAL(metrics_sample(m, "x", l, 1, 1), 0);
    CU_ASSERT_STRING_EQUAL(metrics_text(m), "# HELP x line1\\nback\\\\slash \"q\"\n"
                                            "# TYPE x untyped\n"
                                            "x{msg=\"a\\\"b\\\\c\\nd\"} 1\n");
    metrics_free(m);
}

static void test_metrics_refusals_write_nothing(void)
{
    struct metrics *m = metrics_new();
    const char *const bad_key[][2] = {{"ok", "v"}, {"no:colon", "v"}};
    const char *const null_value[][2] = {{"k", NULL}};
    const char *const many[9][2] = {{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}, {"e", ""},
                                    {"f", ""}, {"g", ""}, {"h", ""}, {"i", ""}};

    CU_ASSERT_EQUAL(metrics_family(m, "9lives", "gauge", "h"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_family(m, "ok", "histogram", "h"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_family(m, "has-dash", "gauge", "h"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_family(m, "", "gauge", "h"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_sample(m, "ok", bad_key, 2, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_sample(m, "ok", null_value, 1, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_sample(m, "ok", many, 9, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_sample(m, "ok", NULL, 1, 1), -EINVAL);
    CU_ASSERT_STRING_EQUAL(metrics_text(m), "");
    metrics_free(m);
}

static void test_metrics_grow_and_take(void)
{
    struct metrics *m = metrics_new();
    const char *const l[][2] = {{"member", "demo-0123456789-abcdefghij"}};
    char *text;

    for (int i = 0; i < 2000; i++) {
        CU_ASSERT_EQUAL(metrics_sample(m, "og_member_lag_bytes", l, 1, i), 0);
    }
    text = metrics_take(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strlen(text) > 2000 * 40);
    CU_ASSERT(strstr(text, "og_member_lag_bytes{member=\"demo-0123456789-abcdefghij\"} 1999\n") !=
              NULL);
    CU_ASSERT_STRING_EQUAL(metrics_text(m), "");
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"family and samples", test_metrics_family_and_samples},
            {"values", test_metrics_values},
            {"escaping", test_metrics_escaping},
            {"refusals write nothing", test_metrics_refusals_write_nothing},
            {"grow and take", test_metrics_grow_and_take},
            CU_TEST_INFO_NULL,
    };

    return cu_run("metrics", tests);
}
