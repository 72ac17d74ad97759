/*
 * tests/unit/test_log.c
 *
 * common/log: every record is one valid JSON object on one line, with the Kubernetes keys,
 * escaping, explicit truncation, level filtering and the errno helpers.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/support/cu_main.h"

static int pipe_fds[2] = {-1, -1};

/* The records written since the last call (caller frees); the pipe is non-blocking. */
static char *take_output(void)
{
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap + 1); /* ALLOW-BANNED: test code */
    ssize_t n;

    while (len < cap && (n = read(pipe_fds[0], buf + len, cap - len)) > 0) {
        len += (size_t) n;
    }
    buf[len] = '\0';
    return buf;
}

static int setup(void)
{
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return -1;
    }
    log_set_fd(pipe_fds[1]);
    return log_setup("unit", "debug", false);
}

static int teardown(void)
{
    log_set_fd(-1);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

static void test_log_json_record(void)
{
    char *out;
    cJSON *j;

    log_info("hello %s", "world");
    out = take_output();
    CU_ASSERT_EQUAL(out[strlen(out) - 1], '\n');
    CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
    j = cJSON_Parse(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), "hello world");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "comp")), "unit");
    CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(j, "ts")));
    CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(j, "v")));
    CU_ASSERT(strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "src")), "test_log.c:", 11) == 0);
    cJSON_Delete(j);
    free(out);
}

static void test_log_escaping_and_context(void)
{
    char *out;
    cJSON *j;

    slog_warn(LOG_CTX({"cluster", "demo"}, {"node", "n\"1"}), "quote \" backslash \\ nl \n tab \t");
    out = take_output();
    /* One line: the embedded newline is escaped. */
    CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
    j = cJSON_Parse(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")),
                           "quote \" backslash \\ nl \n tab \t");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "cluster")), "demo");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), "n\"1");
    cJSON_Delete(j);
    free(out);
}

static void test_log_errno_returns_and_describes(void)
{
    struct errbuf eb = {{0}};
    char *out;
    cJSON *j;
    int r;

    errbuf_set(&eb, "connect to %s", "127.0.0.1:1");
    r = log_error_errno(-ECONNREFUSED, &eb, "report failed");
    CU_ASSERT_EQUAL(r, -ECONNREFUSED);
    out = take_output();
    j = cJSON_Parse(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL(
            strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "err")), "connect to 127.0.0.1:1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "err")), "refused"));
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "rc")), "-111");
    cJSON_Delete(j);
    free(out);
}

static void test_log_truncates_long_records(void)
{
    char *big = malloc(10000); /* ALLOW-BANNED: test code */
    char *out;
    cJSON *j;

    memset(big, 'x', 9999);
    big[9999] = '\0';
    big[100] = '"'; /* an escape well before the cut */
    log_info("%s", big);
    out = take_output();
    CU_ASSERT(strlen(out) <= LOG_LINE_MAX);
    j = cJSON_Parse(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), "…"));
    cJSON_Delete(j);
    free(out);
    free(big);
}

static void test_log_level_filter(void)
{
    char *out;
    enum log_level l;

    log_set_level(LOG_LEVEL_WARN);
    log_info("hidden");
    log_debug("hidden");
    out = take_output();
    CU_ASSERT_STRING_EQUAL(out, "");
    free(out);
    CU_ASSERT_EQUAL(log_emit_errno(LOG_LEVEL_INFO, "f.c", 1, NULL, -EIO, NULL, "x"), -EIO);
    log_set_level(LOG_LEVEL_DEBUG);
    CU_ASSERT_EQUAL(log_level_from_string("WARNING", &l), 0);
    CU_ASSERT_EQUAL(l, LOG_LEVEL_WARN);
    CU_ASSERT_EQUAL(log_level_from_string("loud", &l), -EINVAL);
    CU_ASSERT_EQUAL(log_setup("unit", "loud", false), -EINVAL);
    CU_ASSERT_TRUE(log_is_enabled(LOG_LEVEL_INFO));
    CU_ASSERT_FALSE(log_is_enabled(LOG_LEVEL_DEBUG));
    (void) log_setup("unit", "debug", false);
}

static void test_log_text_mode(void)
{
    char *out;

    (void) log_setup("unit", "debug", true);
    slog_info(LOG_CTX({"node", "node1"}), "plain \"text\"");
    out = take_output();
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "info"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "plain \"text\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "node=node1"));
    CU_ASSERT_EQUAL(out[0] == '{', 0);
    free(out);
    (void) log_setup("unit", "debug", false);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"json record", test_log_json_record},
            {"escaping and context", test_log_escaping_and_context},
            {"errno helpers", test_log_errno_returns_and_describes},
            {"truncation", test_log_truncates_long_records},
            {"level filter", test_log_level_filter},
            {"text mode", test_log_text_mode},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("log", tests, setup, teardown);
}
