/*
 * tests/unit/test_str.c
 *
 * common/str: numbers from outside, names that reach paths and labels, LSN text.
 */
#include <errno.h>
#include <string.h>

#include "common/str.h"
#include "tests/support/cu_main.h"

static void test_str_u32_bounds(void)
{
    uint32_t v = 7;

    CU_ASSERT_EQUAL(str_to_u32("42", 0, 100, &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(str_to_u32("101", 0, 100, &v), -ERANGE);
    CU_ASSERT_EQUAL(str_to_u32("99999999999999999999999", 0, 100, &v), -ERANGE);
    CU_ASSERT_EQUAL(str_to_u32("", 0, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(str_to_u32(" 4", 0, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(str_to_u32("-4", 0, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(str_to_u32("4x", 0, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(str_to_u32(NULL, 0, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(v, 42); /* untouched on failure */
}

static void test_str_i64_and_bool(void)
{
    int64_t i = 0;
    bool b = false;

    CU_ASSERT_EQUAL(str_to_i64("-12", -100, 100, &i), 0);
    CU_ASSERT_EQUAL(i, -12);
    CU_ASSERT_EQUAL(str_to_i64("-", -100, 100, &i), -EINVAL);
    CU_ASSERT_EQUAL(str_to_bool("On", &b), 0);
    CU_ASSERT_TRUE(b);
    CU_ASSERT_EQUAL(str_to_bool("0", &b), 0);
    CU_ASSERT_FALSE(b);
    CU_ASSERT_EQUAL(str_to_bool("maybe", &b), -EINVAL);
}

static void test_str_ms_units(void)
{
    uint64_t ms = 0;

    CU_ASSERT_EQUAL(str_to_ms("500", &ms), 0);
    CU_ASSERT_EQUAL(ms, 500);
    CU_ASSERT_EQUAL(str_to_ms("500ms", &ms), 0);
    CU_ASSERT_EQUAL(ms, 500);
    CU_ASSERT_EQUAL(str_to_ms("5s", &ms), 0);
    CU_ASSERT_EQUAL(ms, 5000);
    CU_ASSERT_EQUAL(str_to_ms("2m", &ms), 0);
    CU_ASSERT_EQUAL(ms, 120000);
    CU_ASSERT_EQUAL(str_to_ms("5 s", &ms), -EINVAL);
    CU_ASSERT_EQUAL(str_to_ms("s", &ms), -EINVAL);
    CU_ASSERT_EQUAL(str_to_ms("5d", &ms), -EINVAL);
}

static void test_str_copy_truncation(void)
{
    char buf[4];

    CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), "abc"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "abc");
    CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), "abcd"), -ENAMETOOLONG);
    CU_ASSERT_STRING_EQUAL(buf, "abc");
}

static void test_str_dns_names(void)
{
    char long_label[70];

    CU_ASSERT_TRUE(str_is_dns_label("demo-1"));
    CU_ASSERT_TRUE(str_is_dns_label("a"));
    CU_ASSERT_FALSE(str_is_dns_label("-a"));
    CU_ASSERT_FALSE(str_is_dns_label("a-"));
    CU_ASSERT_FALSE(str_is_dns_label("Demo"));
    CU_ASSERT_FALSE(str_is_dns_label("../etc"));
    CU_ASSERT_FALSE(str_is_dns_label("a;rm -rf"));
    CU_ASSERT_FALSE(str_is_dns_label(""));
    CU_ASSERT_FALSE(str_is_dns_label("a.b"));
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    CU_ASSERT_FALSE(str_is_dns_label(long_label));
    long_label[63] = '\0';
    CU_ASSERT_TRUE(str_is_dns_label(long_label));
    CU_ASSERT_TRUE(str_is_dns_subdomain("node1.example.com"));
    CU_ASSERT_FALSE(str_is_dns_subdomain("node1..com"));
    CU_ASSERT_FALSE(str_is_dns_subdomain(".node1"));
    CU_ASSERT_FALSE(str_is_dns_subdomain("node1/x"));
}

static void test_str_lsn_round_trip(void)
{
    char buf[24];
    uint64_t lsn = 0;

    str_format_lsn(0x16B374D848ULL, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "16/B374D848");
    CU_ASSERT_EQUAL(str_parse_lsn("16/B374D848", &lsn), 0);
    CU_ASSERT_EQUAL(lsn, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(str_parse_lsn("0/0", &lsn), 0);
    CU_ASSERT_EQUAL(lsn, 0);
    CU_ASSERT_EQUAL(str_parse_lsn("16B374D848", &lsn), -EINVAL);
    CU_ASSERT_EQUAL(str_parse_lsn("1/", &lsn), -EINVAL);
    CU_ASSERT_EQUAL(str_parse_lsn("1/2x", &lsn), -EINVAL);
    CU_ASSERT_EQUAL(str_parse_lsn("100000000/0", &lsn), -EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"u32 bounds", test_str_u32_bounds},
            {"i64 and bool", test_str_i64_and_bool},
            {"ms units", test_str_ms_units},
            {"copy truncation", test_str_copy_truncation},
            {"dns names", test_str_dns_names},
            {"lsn round trip", test_str_lsn_round_trip},
            CU_TEST_INFO_NULL,
    };
    return cu_run("str", tests);
}
