/*
 * tests/unit/test_json.c
 *
 * common/json: strict parsing, every getter with its error text and JSON path, the number
 * precision rules (2^53, u64 as decimal text, LSN text), free-text checks and builders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"

/* Parses a NUL-terminated test document; NULL when it does not parse (the test then fails). */
static cJSON *parse(const char *text)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(json_parse(text, strlen(text), 0, &j, &eb), 0);
    return j;
}

/* Parses text from an exact-size heap copy (no terminator), so ASan sees any overread. */
static int parse_exact(const char *text, size_t max_depth, cJSON **ret, struct errbuf *eb)
{
    size_t len = strlen(text);
    char *copy = xmalloc(len);
    int r;

    memcpy(copy, text, len); /* NOLINT(bugprone-not-null-terminated-result): on purpose */
    r = json_parse(copy, len, max_depth, ret, eb);
    free(copy);
    return r;
}

/* True when eb holds exactly want (printed on mismatch, to make failures readable). */
static bool msg_is(const struct errbuf *eb, const char *want)
{
    if (strcmp(eb->msg, want) != 0) {
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", eb->msg, want);
        return false;
    }
    return true;
}

static bool msg_has(const struct errbuf *eb, const char *want)
{
    if (!strstr(eb->msg, want)) {
        fprintf(stderr, "\n  got:  %s\n  want substring: %s\n", eb->msg, want);
        return false;
    }
    return true;
}

static void test_json_parse_accepts_json(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(parse_exact(" \r\n\t{\"a\": [1, \"x\\\"y\", {\"b\": null}]} \n", 0, &j, &eb),
                    0);
    CU_ASSERT_TRUE(cJSON_IsObject(j));
    cJSON_Delete(j);
    j = NULL;
    CU_ASSERT_EQUAL(parse_exact("7", 0, &j, &eb), 0); /* any value with json_parse */
    CU_ASSERT_TRUE(cJSON_IsNumber(j));
    cJSON_Delete(j);
    j = NULL;
    /* An escaped backslash followed by "u0000" is text, not a NUL. */
    CU_ASSERT_EQUAL(parse_exact("{\"a\":\"\\\\u0000\"}", 0, &j, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(j, "a")->valuestring, "\\u0000");
    cJSON_Delete(j);
}

static void test_json_parse_rejects_with_offsets(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(parse_exact("{\"a\":1} x", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "invalid JSON at byte 8: trailing characters after the value"));
    CU_ASSERT_EQUAL(parse_exact("{\"a\":1}{}", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "byte 7: trailing"));
    CU_ASSERT_EQUAL(parse_exact("hello", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "invalid JSON at byte 0: syntax error"));
    CU_ASSERT_EQUAL(parse_exact("{\"a\":[1,2}", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "syntax error"));
    CU_ASSERT_EQUAL(parse_exact("", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "empty"));
    CU_ASSERT_EQUAL(json_parse(NULL, 3, 0, &j, &eb), -EINVAL);
    /* cJSON alone would accept each of these. */
    CU_ASSERT_EQUAL(parse_exact("{\"a\":\"x\ty\"}", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "invalid JSON at byte 7: control character"));
    CU_ASSERT_EQUAL(parse_exact("\x01{}", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "byte 0: control character"));
    CU_ASSERT_EQUAL(parse_exact("{\"a\":\"ab\\u0000cd\"}", 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "invalid JSON at byte 8: \\u0000 in a string"));
    CU_ASSERT_EQUAL(json_parse("{}\0{}", 5, 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "invalid JSON at byte 2: NUL byte"));
    CU_ASSERT_PTR_NULL(j); /* never written on failure */
}

static void test_json_parse_depth_limit(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;
    char deep[2 * 2000 + 1];

    CU_ASSERT_EQUAL(parse_exact("[[[1]]]", 3, &j, &eb), 0);
    cJSON_Delete(j);
    j = NULL;
    CU_ASSERT_EQUAL(parse_exact("[[[[1]]]]", 3, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "invalid JSON at byte 3: nested too deeply"));
    /* Brackets inside strings do not count. */
    CU_ASSERT_EQUAL(parse_exact("[\"[[[[[[\"]", 2, &j, &eb), 0);
    cJSON_Delete(j);
    j = NULL;
    /* Deeper than cJSON's own limit of 1000: refused before cJSON recurses. */
    memset(deep, '[', 2000);
    memset(deep + 2000, ']', 2000);
    deep[4000] = '\0';
    CU_ASSERT_EQUAL(parse_exact(deep, 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "byte 64: nested too deeply"));
}

static void test_json_parse_object_only(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(json_parse_object("[1]", 3, 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "expected a JSON object, got array"));
    CU_ASSERT_EQUAL(json_parse_object("\"x\"", 3, 0, &j, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "expected a JSON object, got string"));
    CU_ASSERT_EQUAL(json_parse_object("{}", 2, 0, &j, &eb), 0);
    CU_ASSERT_TRUE(cJSON_IsObject(j));
    cJSON_Delete(j);
}

static void test_json_path_format(void)
{
    const struct json_path list = {.key = "instances"};
    const struct json_path item = {.up = &list, .index = 2};
    const struct json_path lsn = {.up = &item, .key = "lsn"};
    struct json_path chain[40];
    char buf[128];
    char wide[256];

    json_path_format(&lsn, "received", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "instances[2].lsn.received");
    json_path_format(&item, NULL, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "instances[2]");
    json_path_format(NULL, "node", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "node");
    json_path_format(NULL, NULL, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "");
    json_path_format(&list, "bad\nkey\"", buf, sizeof(buf)); /* keys from outside are cleaned */
    CU_ASSERT_STRING_EQUAL(buf, "instances.bad?key?");
    json_path_format(&lsn, "received", buf, 10); /* truncates, terminated */
    CU_ASSERT_STRING_EQUAL(buf, "instances");
    for (size_t i = 0; i < 40; i++) {
        chain[i] = (struct json_path){.up = i ? &chain[i - 1] : NULL, .index = i};
    }
    json_path_format(&chain[39], "k", wide, sizeof(wide)); /* deep paths are cut at the root */
    CU_ASSERT_TRUE(strncmp(wide, "...[8][9]", 9) == 0);
    CU_ASSERT_TRUE(strstr(wide, "[38][39].k") != NULL);
}

static void test_json_get_str(void)
{
    const struct json_path spec = {.key = "spec"};
    struct errbuf eb = {{0}};
    cJSON *j = parse("{\"node\":\"node1\",\"n\":5,\"z\":null,\"long\":\"abcdef\"}");
    char buf[6] = "keep";

    CU_ASSERT_EQUAL(json_get_str(j, NULL, "node", true, buf, sizeof(buf), &eb), 0);
    CU_ASSERT_STRING_EQUAL(buf, "node1"); /* exactly fills buf */
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "long", true, buf, sizeof(buf), &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "long: expected string of at most 5 bytes, got 6"));
    CU_ASSERT_STRING_EQUAL(buf, "node1"); /* untouched on failure */
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "missing", true, buf, sizeof(buf), &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "missing: missing"));
    CU_ASSERT_EQUAL(json_get_str(j, &spec, "z", true, buf, sizeof(buf), &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "spec.z: missing")); /* null counts as missing */
    CU_ASSERT_EQUAL(json_get_str(j, &spec, "n", true, buf, sizeof(buf), &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "spec.n: expected string, got number"));
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "n", false, buf, sizeof(buf), &eb), -EINVAL);
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "z", false, buf, sizeof(buf), &eb), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "absent", false, buf, sizeof(buf), &eb), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
    /* Member lookup is case-sensitive. */
    CU_ASSERT_EQUAL(json_get_str(j, NULL, "NODE", true, buf, sizeof(buf), &eb), -EINVAL);
    /* A NULL key reads obj itself: array elements. */
    CU_ASSERT_EQUAL(json_get_str(cJSON_GetObjectItemCaseSensitive(j, "node"), &spec, NULL, true,
                                 buf, sizeof(buf), &eb),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "node1");
    CU_ASSERT_TRUE(json_has(j, "node"));
    CU_ASSERT_FALSE(json_has(j, "z"));
    CU_ASSERT_FALSE(json_has(j, "absent"));
    cJSON_Delete(j);
}

static void test_json_get_integers(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = parse("{\"max\":9007199254740991,\"over\":9007199254740992,\"big\":1e300,"
                     "\"half\":1.5,\"neg\":-1,\"port\":70000,\"s\":\"12\",\"exp\":1e3,"
                     "\"zero\":0,\"negzero\":-0,\"t\":true}");
    uint64_t v = 77;
    uint32_t u = 77;

    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "max", 0, UINT64_MAX, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, JSON_INT_MAX);
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "over", 0, UINT64_MAX, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(
            msg_is(&eb, "over: expected integer in 0..9007199254740991, got 9007199254740992"));
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "big", 0, UINT64_MAX, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&eb, "got 1.0000000000000001e+300"));
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "half", 0, 10, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "half: expected integer in 0..10, got 1.5"));
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "neg", 0, 10, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "neg: expected integer in 0..10, got -1"));
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "port", 1, 65535, &u, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "port: expected integer in 1..65535, got 70000"));
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "s", 1, 65535, &u, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "s: expected integer in 1..65535, got string"));
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "t", 0, 1, &u, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "t: expected integer in 0..1, got boolean"));
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "nope", 0, 1, &u, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "nope: missing"));
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "zero", 1, 5, &u, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "zero: expected integer in 1..5, got 0"));
    CU_ASSERT_EQUAL(v, JSON_INT_MAX); /* untouched by every failure above */
    CU_ASSERT_EQUAL(u, 77);
    CU_ASSERT_EQUAL(json_get_u32(j, NULL, "exp", 0, UINT32_MAX, &u, &eb), 0);
    CU_ASSERT_EQUAL(u, 1000); /* 1e3 is the integer 1000 in JSON */
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "negzero", 0, 5, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 0);
    cJSON_Delete(j);
}

static void test_json_get_u64_text(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = parse("{\"id\":\"18446744073709551615\",\"n\":7301234567890123456,\"bad\":\"12a\","
                     "\"sign\":\"-1\",\"over\":\"18446744073709551616\",\"sp\":\" 1\"}");
    uint64_t v = 0;

    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "id", &v, &eb), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    /* A big number passed as a JSON number is ambiguous: refused, not rounded. */
    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "n", &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "n: expected unsigned 64-bit integer as decimal text, got number"));
    CU_ASSERT_EQUAL(json_get_u64(j, NULL, "n", 0, UINT64_MAX, &v, &eb), -EINVAL);
    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "bad", &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(
            msg_is(&eb, "bad: expected unsigned 64-bit integer as decimal text, got \"12a\""));
    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "sign", &v, &eb), -EINVAL);
    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "over", &v, &eb), -EINVAL);
    CU_ASSERT_EQUAL(json_get_u64_text(j, NULL, "sp", &v, &eb), -EINVAL);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    cJSON_Delete(j);
}

static void test_json_get_bool_lsn_nested_paths(void)
{
    struct errbuf eb = {{0}};
    cJSON *j =
            parse("{\"instances\":[{},{},{\"maintenance\":1,\"lsn\":{\"current\":\"16/B374D848\","
                  "\"received\":\"zz\",\"replayed\":5}}]}");
    const struct json_path list = {.key = "instances"};
    const struct json_path item = {.up = &list, .index = 2};
    const struct json_path lsn_at = {.up = &item, .key = "lsn"};
    const cJSON *arr = NULL;
    const cJSON *inst;
    const cJSON *lsn = NULL;
    uint64_t v = 0;
    bool b = false;

    CU_ASSERT_EQUAL(json_get_array(j, NULL, "instances", true, 8, &arr, &eb), 3);
    inst = cJSON_GetArrayItem(arr, 2);
    CU_ASSERT_EQUAL(json_get_object(inst, &item, "lsn", true, &lsn, &eb), 0);
    CU_ASSERT_EQUAL(json_get_lsn(lsn, &lsn_at, "current", &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(json_get_lsn(lsn, &lsn_at, "received", &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "instances[2].lsn.received: expected LSN text \"X/Y\", got \"zz\""));
    CU_ASSERT_EQUAL(json_get_lsn(lsn, &lsn_at, "replayed", &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "instances[2].lsn.replayed: expected LSN text \"X/Y\", got number"));
    CU_ASSERT_EQUAL(json_get_lsn(lsn, &lsn_at, "flushed", &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "instances[2].lsn.flushed: missing"));
    CU_ASSERT_EQUAL(json_get_bool(inst, &item, "maintenance", &b, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "instances[2].maintenance: expected boolean, got number"));
    CU_ASSERT_EQUAL(json_get_bool(inst, &item, "rebuild", &b, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "instances[2].rebuild: missing"));
    CU_ASSERT_EQUAL(v, 0x16B374D848ULL);
    cJSON_Delete(j);
    j = parse("{\"a\":true,\"b\":false}");
    CU_ASSERT_EQUAL(json_get_bool(j, NULL, "a", &b, &eb), 0);
    CU_ASSERT_TRUE(b);
    CU_ASSERT_EQUAL(json_get_bool(j, NULL, "b", &b, &eb), 0);
    CU_ASSERT_FALSE(b);
    cJSON_Delete(j);
}

static const char *const colours[] = {"none", "red", "green", "blue"};

static const char *colour_name(int v)
{
    return colours[v];
}

static void test_json_get_enum(void)
{
    const struct json_enum known = {colour_name, 1, 4};
    const struct json_enum any = {colour_name, 0, 4};
    struct errbuf eb = {{0}};
    cJSON *j = parse("{\"c\":\"green\",\"n\":\"none\",\"x\":\"mauve\",\"num\":2}");
    int v = -1;

    CU_ASSERT_EQUAL(json_get_enum(j, NULL, "c", &known, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_EQUAL(json_get_enum(j, NULL, "n", &known, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "n: expected one of red|green|blue, got \"none\""));
    CU_ASSERT_EQUAL(json_get_enum(j, NULL, "n", &any, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(json_get_enum(j, NULL, "x", &known, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "x: expected one of red|green|blue, got \"mauve\""));
    CU_ASSERT_EQUAL(json_get_enum(j, NULL, "num", &known, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "num: expected red|green|blue, got number"));
    CU_ASSERT_EQUAL(v, 0);
    cJSON_Delete(j);
}

static void test_json_get_array_and_object(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = parse("{\"a\":[1,2,3],\"e\":[],\"o\":{\"k\":1},\"n\":null,\"s\":\"x\"}");
    const cJSON *v = NULL;

    CU_ASSERT_EQUAL(json_get_array(j, NULL, "a", true, 3, &v, &eb), 3);
    CU_ASSERT_PTR_NOT_NULL(v);
    CU_ASSERT_EQUAL(json_get_array(j, NULL, "a", true, 2, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "a: expected at most 2 elements, got 3"));
    CU_ASSERT_EQUAL(json_get_array(j, NULL, "e", true, 2, &v, &eb), 0);
    CU_ASSERT_EQUAL(json_get_array(j, NULL, "o", true, 2, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "o: expected array, got object"));
    CU_ASSERT_EQUAL(json_get_array(j, NULL, "n", true, 2, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "n: missing"));
    CU_ASSERT_EQUAL(json_get_array(j, NULL, "n", false, 2, &v, &eb), 0);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(json_get_object(j, NULL, "o", true, &v, &eb), 0);
    CU_ASSERT_TRUE(cJSON_IsObject(v));
    CU_ASSERT_EQUAL(json_get_object(j, NULL, "s", false, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "s: expected object, got string"));
    CU_ASSERT_EQUAL(json_get_object(j, NULL, "absent", true, &v, &eb), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "absent: missing"));
    CU_ASSERT_EQUAL(json_get_object(j, NULL, "n", false, &v, &eb), 0);
    CU_ASSERT_PTR_NULL(v);
    cJSON_Delete(j);
}

static void test_json_expect_and_range(void)
{
    const struct json_path auth = {.key = "auth"};
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL(json_expect(&eb, NULL, "node", true, "DNS-1123 subdomain", "x"), 0);
    CU_ASSERT_EQUAL(json_expect(&eb, NULL, "node", false, "DNS-1123 subdomain", "../x\n"), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "node: expected DNS-1123 subdomain, got \"../x?\""));
    /* Secrets are never echoed. */
    CU_ASSERT_EQUAL(json_expect(&eb, &auth, "password", false, "text", NULL), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "auth.password: expected text"));
    CU_ASSERT_EQUAL(json_expect(&eb, NULL, "k", false, "short",
                                "0123456789012345678901234567890123456789abcdef"),
                    -EINVAL);
    CU_ASSERT_TRUE(
            msg_is(&eb, "k: expected short, got \"0123456789012345678901234567890123456789...\""));
    CU_ASSERT_EQUAL(json_check_range(&eb, NULL, "port", 5432, 1, 65535), 0);
    CU_ASSERT_EQUAL(json_check_range(&eb, NULL, "port", 0, 1, 65535), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "port: expected integer in 1..65535, got 0"));
    CU_ASSERT_EQUAL(json_error(&eb, NULL, NULL, "plain %d", 5), -EINVAL);
    CU_ASSERT_TRUE(msg_is(&eb, "plain 5"));
    CU_ASSERT_EQUAL(json_error(NULL, NULL, "x", "no buffer"), -EINVAL); /* NULL eb is fine */
    CU_ASSERT_STRING_EQUAL(json_type_name(NULL), "missing");
}

static void test_json_text(void)
{
    char s[] = "ok\n\x7f\xc3\xa9\xc3(\xed\xa0\x80!";

    CU_ASSERT_TRUE(json_is_text(""));
    CU_ASSERT_TRUE(json_is_text("ANY 1 (\"demo-1\",\"demo-2\")"));
    CU_ASSERT_TRUE(json_is_text("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98"));
    CU_ASSERT_FALSE(json_is_text(NULL));
    CU_ASSERT_FALSE(json_is_text("a\nb"));
    CU_ASSERT_FALSE(json_is_text("a\tb"));
    CU_ASSERT_FALSE(json_is_text("\x7f"));
    CU_ASSERT_FALSE(json_is_text("\xc3"));             /* cut sequence */
    CU_ASSERT_FALSE(json_is_text("\xc0\xaf"));         /* overlong '/' */
    CU_ASSERT_FALSE(json_is_text("\xed\xa0\x80"));     /* UTF-16 surrogate */
    CU_ASSERT_FALSE(json_is_text("\xf4\x90\x80\x80")); /* above U+10FFFF */
    CU_ASSERT_FALSE(json_is_text("\xff"));
    json_text_sanitize(s);
    CU_ASSERT_STRING_EQUAL(s, "ok?"
                              "?\xc3\xa9?(?"
                              "?"
                              "?!"); /* split: no trigraphs */
    CU_ASSERT_TRUE(json_is_text(s));
    json_text_sanitize(NULL);
}

static void test_json_builders_keep_precision(void)
{
    struct errbuf eb = {{0}};
    cJSON *j = json_new_object();
    cJSON *arr;
    cJSON *back = NULL;
    const cJSON *list = NULL;
    char *text;
    uint64_t v = 0;
    char buf[8];

    json_add_u64(j, "max", JSON_INT_MAX);
    json_add_u64(j, "big", 1000000000000001ULL); /* cJSON's own printer rounds this one */
    json_add_u64(j, "zero", 0);
    json_add_u64(j, "over", JSON_INT_MAX + 1);
    json_add_u64_text(j, "id", UINT64_MAX);
    json_add_lsn(j, "lsn", 0x16B374D848ULL);
    json_add_bool(j, "t", true);
    json_add_null(j, "none");
    json_add_str(j, "s", "q\"\\\n");
    json_add_str(j, "nul", NULL);
    arr = json_add_array(j, "a");
    json_add_str(arr, NULL, "x");
    json_add_u64(json_add_object(arr, NULL), "k", 1);
    text = json_print(j);
    CU_ASSERT_STRING_EQUAL(text, "{\"max\":9007199254740991,\"big\":1000000000000001,\"zero\":0,"
                                 "\"over\":\"9007199254740992\",\"id\":\"18446744073709551615\","
                                 "\"lsn\":\"16/B374D848\",\"t\":true,\"none\":null,"
                                 "\"s\":\"q\\\"\\\\\\n\",\"nul\":\"\",\"a\":[\"x\",{\"k\":1}]}");
    CU_ASSERT_EQUAL(json_parse(text, strlen(text), 0, &back, &eb), 0);
    CU_ASSERT_EQUAL(json_get_u64(back, NULL, "max", 0, UINT64_MAX, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, JSON_INT_MAX);
    CU_ASSERT_EQUAL(json_get_u64(back, NULL, "big", 0, UINT64_MAX, &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 1000000000000001ULL);
    /* Too big for a number: written as text so a bounded reader refuses it loudly. */
    CU_ASSERT_EQUAL(json_get_u64(back, NULL, "over", 0, UINT64_MAX, &v, &eb), -EINVAL);
    CU_ASSERT_EQUAL(json_get_u64_text(back, NULL, "over", &v, &eb), 0);
    CU_ASSERT_EQUAL(v, JSON_INT_MAX + 1);
    CU_ASSERT_EQUAL(json_get_u64_text(back, NULL, "id", &v, &eb), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(json_get_lsn(back, NULL, "lsn", &v, &eb), 0);
    CU_ASSERT_EQUAL(v, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(json_get_array(back, NULL, "a", true, 2, &list, &eb), 2);
    CU_ASSERT_EQUAL(json_get_str(back, NULL, "s", true, buf, sizeof(buf), &eb), 0);
    CU_ASSERT_STRING_EQUAL(buf, "q\"\\\n");
    cJSON_Delete(back);
    cJSON_Delete(j);
    free(text);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"parse accepts json", test_json_parse_accepts_json},
            {"parse rejects with offsets", test_json_parse_rejects_with_offsets},
            {"parse depth limit", test_json_parse_depth_limit},
            {"parse object only", test_json_parse_object_only},
            {"path format", test_json_path_format},
            {"get str", test_json_get_str},
            {"get integers", test_json_get_integers},
            {"get u64 text", test_json_get_u64_text},
            {"get bool lsn nested paths", test_json_get_bool_lsn_nested_paths},
            {"get enum", test_json_get_enum},
            {"get array and object", test_json_get_array_and_object},
            {"expect and range", test_json_expect_and_range},
            {"text", test_json_text},
            {"builders keep precision", test_json_builders_keep_precision},
            CU_TEST_INFO_NULL,
    };
    return cu_run("json", tests);
}
