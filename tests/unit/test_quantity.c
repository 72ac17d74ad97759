/*
 * tests/unit/test_quantity.c
 *
 * common/quantity: Kubernetes quantities as exact integers, in bytes and in thousandths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "common/quantity.h"
#include "tests/support/cu_main.h"

struct qcase {
    const char *text;
    int rc;
    uint64_t bytes; /* quantity_parse_bytes */
    uint64_t milli; /* quantity_parse_milli; 0 = not checked */
};

static const struct qcase qcases[] = {
        {"0", 0, 0, 0},
        {"1", 0, 1, 1000},
        {"3Gi", 0, 3221225472ULL, 3221225472000ULL},
        {"500m", 0, 1, 500},
        {"1.5k", 0, 1500, 1500000},
        {"1.5Gi", 0, 1610612736ULL, 0},
        {"2e3", 0, 2000, 2000000},
        {"2E-3", 0, 1, 2},
        {"1Ki", 0, 1024, 1024000},
        {"4Mi", 0, 4194304, 0},
        {"100M", 0, 100000000, 0},
        {"0.1", 0, 1, 100},
        {"1n", 0, 1, 1},
        {"007", 0, 7, 7000},
        {"16Ei", -ERANGE, 0, 0},
        {"", -EINVAL, 0, 0},
        {".", -EINVAL, 0, 0},
        {"Gi", -EINVAL, 0, 0},
        {"-1", -EINVAL, 0, 0},
        {"1 Gi", -EINVAL, 0, 0},
        {"1GB", -EINVAL, 0, 0},
        {"1e", -EINVAL, 0, 0},
        {"1e99", -EINVAL, 0, 0},
        {"1.2.3", -EINVAL, 0, 0},
        {"1234567890123456789", -ERANGE, 0, 0},
};

static void test_quantity_table(void)
{
    for (size_t i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
        const struct qcase *q = &qcases[i];
        uint64_t v = 77, m = 77;
        int r = quantity_parse_bytes(q->text, &v);

        if (r != q->rc || (r == 0 && v != q->bytes)) {
            fprintf(stderr, "\n  %s: rc %d bytes %llu\n", q->text, r, (unsigned long long) v);
        }
        CU_ASSERT_EQUAL(r, q->rc);
        if (q->rc == 0) {
            CU_ASSERT_EQUAL(v, q->bytes);
            CU_ASSERT_EQUAL(quantity_parse_milli(q->text, &m), 0);
            if (q->milli) {
                CU_ASSERT_EQUAL(m, q->milli);
            }
        } else {
            CU_ASSERT_EQUAL(v, 77); /* untouched on failure */
        }
    }
    CU_ASSERT_EQUAL(quantity_parse_bytes(NULL, NULL), -EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"quantity table", test_quantity_table},
            CU_TEST_INFO_NULL,
    };

    return cu_run("quantity", tests);
}
