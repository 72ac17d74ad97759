/*
 * tests/unit/test_kube_config.c
 *
 * common/kube_config and the pure parts of common/kube: the in-cluster configuration from a
 * fake service account directory and environment values (IPv6 hosts in brackets), kubectl
 * style kubeconfig files (token user, certificate user with base64 -data fields, contexts,
 * current-context, relative paths, JSON form), errors that name the missing key, the YAML
 * subset's limits, API paths, query escaping, and the Status → errno table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/kube.h"
#include "common/kube_config.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

static char *test_dir;

static int test_kube_config_init(void)
{
    struct errbuf eb = {{0}};

    return fs_mkdtemp("/tmp/og-test-kubecfg-", &test_dir, &eb) < 0 ? -1 : 0;
}

static int test_kube_config_cleanup(void)
{
    struct errbuf eb = {{0}};
    int r = test_dir ? fs_remove_tree(test_dir, &eb) : 0;

    free(test_dir);
    test_dir = NULL;
    return r < 0 ? -1 : 0;
}

/* Writes text to test_dir/name and returns the full path (caller frees). */
static char *put_file(const char *name, const char *text)
{
    struct errbuf eb = {{0}};
    char *path = xasprintf("%s/%s", test_dir, name);
    char *dir = xstrdup(path);

    *strrchr(dir, '/') = '\0';
    CU_ASSERT_EQUAL(fs_mkdir_p(dir, 0700, &eb), 0);
    CU_ASSERT_EQUAL(fs_write_atomic(path, text, strlen(text), 0600, &eb), 0);
    free(dir);
    return path;
}

/* A config struct on the heap (it is large), zeroed. */
static struct kube_config *new_cfg(void)
{
    return xcalloc(1, sizeof(struct kube_config));
}

/* ---- in-cluster ---- */

static void test_kube_config_in_cluster_ipv4(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *sa = xasprintf("%s/sa1", test_dir);
    char *expect = xasprintf("%s/token", sa);

    free(put_file("sa1/token", "eyJhbGciOi.tok.en\n"));
    free(put_file("sa1/ca.crt", "-----BEGIN CERTIFICATE-----\n"));
    free(put_file("sa1/namespace", "og-system"));
    CU_ASSERT_EQUAL_FATAL(kube_config_in_cluster("10.96.0.1", "443", sa, cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "https://10.96.0.1:443");
    CU_ASSERT_STRING_EQUAL(cfg->token, "eyJhbGciOi.tok.en");
    CU_ASSERT_STRING_EQUAL(cfg->token_file, expect);
    CU_ASSERT_PTR_NOT_NULL(strstr(cfg->ca_file, "sa1/ca.crt"));
    CU_ASSERT_STRING_EQUAL(cfg->namespace_, "og-system");
    CU_ASSERT_FALSE(cfg->insecure);
    kube_config_done(cfg);
    free(expect);
    free(sa);
    free(cfg);
}

static void test_kube_config_in_cluster_ipv6_and_defaults(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *sa = xasprintf("%s/sa2", test_dir);

    free(put_file("sa2/token", "tok"));
    free(put_file("sa2/ca.crt", "ca"));
    CU_ASSERT_EQUAL_FATAL(kube_config_in_cluster("fd00:10:96::1", "6443", sa, cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "https://[fd00:10:96::1]:6443");
    CU_ASSERT_STRING_EQUAL(cfg->namespace_, "default"); /* no namespace file */
    kube_config_done(cfg);
    /* Already bracketed stays as it is. */
    CU_ASSERT_EQUAL(kube_config_in_cluster("[::1]", "443", sa, cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "https://[::1]:443");
    kube_config_done(cfg);
    free(sa);
    free(cfg);
}

static void test_kube_config_in_cluster_errors(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *sa = xasprintf("%s/sa3", test_dir);

    CU_ASSERT_EQUAL(str_copy(cfg->server, sizeof(cfg->server), "untouched"), 0);
    CU_ASSERT_EQUAL(kube_config_in_cluster(NULL, "443", sa, cfg, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "KUBERNETES_SERVICE_HOST"));
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1", NULL, sa, cfg, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "KUBERNETES_SERVICE_PORT"));
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1", "99999", sa, cfg, &eb), -EINVAL);
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1/x", "443", sa, cfg, &eb), -EINVAL);
    /* No token file. */
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1", "443", sa, cfg, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "token"));
    /* Token but no CA. */
    free(put_file("sa3/token", "tok"));
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1", "443", sa, cfg, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "ca.crt"));
    /* A namespace file with rubbish. */
    free(put_file("sa3/ca.crt", "ca"));
    free(put_file("sa3/namespace", "Not_A_Namespace"));
    CU_ASSERT_EQUAL(kube_config_in_cluster("10.0.0.1", "443", sa, cfg, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(cfg->server, "untouched"); /* failures leave *ret alone */
    free(sa);
    free(cfg);
}

/* ---- kubeconfig ---- */

/* base64 of "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" */
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
/* base64 of "KEY" */
#define KEY_B64 "S0VZ"

/* What `kubectl config view --raw` prints for a kind cluster plus a token user. */
static const char kubectl_yaml[] =
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        "    certificate-authority-data: " CERT_B64 "\n"
        "    server: https://127.0.0.1:6443/\n"
        "  name: kind-og\n"
        "- cluster:\n"
        "    certificate-authority: certs/ca.pem   # relative to this file\n"
        "    insecure-skip-tls-verify: true\n"
        "    server: \"https://[::1]:8443\"\n"
        "  name: dev\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: kind-og\n"
        "    user: kind-og\n"
        "  name: kind-og\n"
        "- context:\n"
        "    cluster: dev\n"
        "    namespace: og-test\n"
        "    user: 'dev-token'\n"
        "  name: dev\n"
        "current-context: kind-og\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: kind-og\n"
        "  user:\n"
        "    client-certificate-data: " CERT_B64 "\n"
        "    client-key-data: " KEY_B64 "\n"
        "- name: dev-token\n"
        "  user:\n"
        "    token: abc.def.ghi\n";

static void test_kube_config_kubeconfig_cert_user(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *path = put_file("kc1/config", kubectl_yaml);

    CU_ASSERT_EQUAL_FATAL(kube_config_from_kubeconfig(path, NULL, cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "https://127.0.0.1:6443"); /* trailing '/' dropped */
    CU_ASSERT_STRING_EQUAL(cfg->namespace_, "default");
    CU_ASSERT_EQUAL(cfg->ca_data_len, strlen(CERT_PEM));
    CU_ASSERT_TRUE(cfg->ca_data && memcmp(cfg->ca_data, CERT_PEM, strlen(CERT_PEM)) == 0);
    CU_ASSERT_EQUAL(cfg->client_cert_data_len, strlen(CERT_PEM));
    CU_ASSERT_EQUAL(cfg->client_key_data_len, 3);
    CU_ASSERT_TRUE(cfg->client_key_data && memcmp(cfg->client_key_data, "KEY", 3) == 0);
    CU_ASSERT_STRING_EQUAL(cfg->token, "");
    CU_ASSERT_STRING_EQUAL(cfg->ca_file, "");
    CU_ASSERT_FALSE(cfg->insecure);
    kube_config_done(cfg);
    CU_ASSERT_PTR_NULL(cfg->ca_data);
    kube_config_done(cfg); /* twice is fine */
    free(path);
    free(cfg);
}

static void test_kube_config_kubeconfig_token_user_context(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *path = put_file("kc2/config", kubectl_yaml);
    char *ca = xasprintf("%s/kc2/certs/ca.pem", test_dir);

    CU_ASSERT_EQUAL_FATAL(kube_config_from_kubeconfig(path, "dev", cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "https://[::1]:8443");
    CU_ASSERT_STRING_EQUAL(cfg->token, "abc.def.ghi");
    CU_ASSERT_STRING_EQUAL(cfg->namespace_, "og-test");
    CU_ASSERT_STRING_EQUAL(cfg->ca_file, ca);
    CU_ASSERT_TRUE(cfg->insecure);
    CU_ASSERT_PTR_NULL(cfg->ca_data);
    CU_ASSERT_PTR_NULL(cfg->client_cert_data);
    kube_config_done(cfg);
    free(ca);
    free(path);
    free(cfg);
}

static void test_kube_config_kubeconfig_json_and_token_file(void)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *tok = put_file("kc3/tok", "  file-token\n");
    char *json = xasprintf(
            "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"c\","
            "\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"http://127.0.0.1:8080\","
            "\"insecure-skip-tls-verify\":true}}],"
            "\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\",\"user\":\"u\"}}],"
            "\"users\":[{\"name\":\"u\",\"user\":{\"tokenFile\":\"%s\"}}]}",
            tok);
    char *path = put_file("kc3/config.json", json);

    CU_ASSERT_EQUAL_FATAL(kube_config_from_kubeconfig(path, NULL, cfg, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cfg->server, "http://127.0.0.1:8080");
    CU_ASSERT_TRUE(cfg->insecure);
    CU_ASSERT_STRING_EQUAL(cfg->token_file, tok);
    CU_ASSERT_STRING_EQUAL(cfg->token, "file-token");
    kube_config_done(cfg);
    free(path);
    free(json);
    free(tok);
    free(cfg);
}

/* Loads text as a kubeconfig and checks the result code and that eb mentions want. */
static void expect_kubeconfig_error(const char *name, const char *text, const char *context,
                                    int code, const char *want)
{
    struct kube_config *cfg = new_cfg();
    struct errbuf eb = {{0}};
    char *path = put_file(name, text);
    int r = kube_config_from_kubeconfig(path, context, cfg, &eb);

    CU_ASSERT_EQUAL(r, code);
    if (!strstr(eb.msg, want)) {
        printf("\n  %s: expected \"%s\" in \"%s\" (rc %d)\n", name, want, eb.msg, r);
        CU_FAIL("error text does not name the problem");
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, path)); /* and the file */
    CU_ASSERT_STRING_EQUAL(cfg->server, "");      /* untouched */
    free(path);
    free(cfg);
}

static void test_kube_config_kubeconfig_errors_name_keys(void)
{
    expect_kubeconfig_error("e1",
                            "clusters:\n- name: a\n  cluster:\n    insecure: x\n"
                            "contexts:\n- name: c\n  context:\n    cluster: a\n"
                            "current-context: c\n",
                            NULL, -EINVAL, "clusters[0].cluster.server: missing");
    expect_kubeconfig_error("e2", kubectl_yaml, "nope", -ENOENT,
                            "contexts: no entry named \"nope\"");
    expect_kubeconfig_error("e3", "clusters: []\ncontexts: []\n", NULL, -EINVAL,
                            "current-context: missing");
    expect_kubeconfig_error("e4",
                            "clusters:\n- name: a\n  cluster:\n    server: https://h\n"
                            "contexts:\n- name: c\n  context:\n    cluster: a\n    user: u\n"
                            "current-context: c\n"
                            "users:\n- name: u\n  user:\n    exec:\n      command: aws\n",
                            NULL, -ENOTSUP, "users[0].user.exec");
    expect_kubeconfig_error("e5",
                            "clusters:\n- name: a\n  cluster:\n    server: https://h\n"
                            "contexts:\n- name: c\n  context:\n    cluster: a\n    user: u\n"
                            "current-context: c\n"
                            "users:\n- name: u\n  user:\n    client-certificate-data: " CERT_B64
                            "\n",
                            NULL, -EINVAL, "client key");
    expect_kubeconfig_error("e6",
                            "clusters:\n- name: a\n  cluster:\n    server: https://h\n"
                            "    certificate-authority-data: not*base64\n"
                            "contexts:\n- name: c\n  context:\n    cluster: a\n"
                            "current-context: c\n",
                            NULL, -EINVAL, "certificate-authority-data: expected base64");
    expect_kubeconfig_error("e7",
                            "clusters:\n- name: a\n  cluster:\n    server: ftp://h\n"
                            "contexts:\n- name: c\n  context:\n    cluster: b\n"
                            "current-context: c\n",
                            NULL, -ENOENT, "clusters: no entry named \"b\"");
    expect_kubeconfig_error("e8", "clusters:\n\t- name: a\n", NULL, -EINVAL, "line 2: tab");
}

/* ---- YAML subset ---- */

static void test_kube_config_yaml_subset(void)
{
    static const char text[] = "# comment\n"
                               "---\n"
                               "a: plain text # trailing comment\n"
                               "b: \"dq \\\"x\\\" \\u00e9 # not a comment\"\n"
                               "c: 'it''s'\n"
                               "d:\n"
                               "- x\n"
                               "- k: v\n"
                               "  k2: v2\n"
                               "-\n"
                               "  - nested\n"
                               "e: {\"j\": [1, 2]}\n"
                               "f: ~\n"
                               "g: https://h:6443/p\n"
                               "\"h k\": 1\n";
    struct errbuf eb = {{0}};
    cJSON *doc = NULL;
    const cJSON *d;

    CU_ASSERT_EQUAL_FATAL(kube_config_parse_text(text, strlen(text), &doc, &eb), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "a")->valuestring, "plain text");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "b")->valuestring,
                           "dq \"x\" \xc3\xa9 # not a comment");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "c")->valuestring, "it's");
    d = cJSON_GetObjectItem(doc, "d");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(d), 3);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(d, 0)->valuestring, "x");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "k2")->valuestring, "v2");
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetArrayItem(d, 2), 0)->valuestring, "nested");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "e"), "j")), 2);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(doc, "f")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "g")->valuestring, "https://h:6443/p");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "h k")->valuestring, "1");
    cJSON_Delete(doc);
}

static void test_kube_config_yaml_rejects(void)
{
    static const struct {
        const char *text;
        int code;
        const char *want;
    } cases[] = {
            {"a: |\n  block\n", -ENOTSUP, "line 1: block scalars"},
            {"a: &anchor x\n", -ENOTSUP, "line 1"},
            {"a: [x, y]\n", -ENOTSUP, "flow collection"},
            {"a: 1\na: 2\n", -EINVAL, "line 2: duplicate key"},
            {"a:\n  b: 1\n   c: 2\n", -EINVAL, "line 3: unexpected indentation"},
            {"a: \"open\n", -EINVAL, "line 1: malformed"},
            {"a: x\n  more\n", -EINVAL, "line 2"},
            {"- a\nb: c\n", -EINVAL, "line 2"},
            {"# only a comment\n", -EINVAL, "empty"},
            {"a: \"\\u0000\"\n", -EINVAL, "line 1"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct errbuf eb = {{0}};
        cJSON *doc = NULL;
        int r = kube_config_parse_text(cases[i].text, strlen(cases[i].text), &doc, &eb);

        if (r != cases[i].code || !strstr(eb.msg, cases[i].want)) {
            printf("\n  case %zu: rc %d (want %d), \"%s\" (want \"%s\")\n", i, r, cases[i].code,
                   eb.msg, cases[i].want);
            CU_FAIL("YAML subset case");
        }
        CU_ASSERT_PTR_NULL(doc);
        cJSON_Delete(doc);
    }
}

/* ---- paths, escaping, errors ---- */

static void test_kube_config_paths(void)
{
    char buf[256];
    char tiny[16];

    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", "p-1", NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/api/v1/namespaces/ns/pods/p-1");
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, NULL, NULL, NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/api/v1/pods");
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_namespaces, NULL, "og", NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/api/v1/namespaces/og");
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_opengaussclusters, "ns", "c1", "status"),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "/apis/opengauss.sig/v1/namespaces/ns/opengaussclusters/c1/status");
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_endpointslices, "ns", NULL, NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices");
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_leases, "kube-system", "og", NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/og");
    /* Bad segments and sizes. */
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", "..", NULL), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", "a/b", NULL), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "", "a", NULL), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", "a?b", NULL), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", "a b", NULL), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &kube_res_pods, "ns", NULL, "status"), -EINVAL);
    CU_ASSERT_EQUAL(kube_path(tiny, sizeof(tiny), &kube_res_pods, "ns", "p", NULL), -ENAMETOOLONG);
}

static void test_kube_config_query_escape(void)
{
    char buf[128];
    char tiny[4];

    CU_ASSERT_EQUAL(kube_query_escape(buf, sizeof(buf), "app=og,role in (primary,standby)"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "app%3Dog%2Crole%20in%20%28primary%2Cstandby%29");
    CU_ASSERT_EQUAL(kube_query_escape(buf, sizeof(buf), "c1.ns.opengauss.sig/role!=x~_-"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "c1.ns.opengauss.sig%2Frole%21%3Dx~_-");
    CU_ASSERT_EQUAL(kube_query_escape(buf, sizeof(buf), "a&b=\xc3\xa9"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "a%26b%3D%C3%A9");
    CU_ASSERT_EQUAL(kube_query_escape(tiny, sizeof(tiny), "abc"), 0);
    CU_ASSERT_EQUAL(kube_query_escape(tiny, sizeof(tiny), "a="), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(kube_query_escape(tiny, sizeof(tiny), "abcd"), -ENAMETOOLONG);
}

static void test_kube_config_status_errno_and_enums(void)
{
    enum kube_event e = KUBE_EVENT_UNKNOWN;
    enum kube_patch_type t = KUBE_PATCH_UNKNOWN;

    CU_ASSERT_EQUAL(kube_status_errno(200, NULL), 0);
    CU_ASSERT_EQUAL(kube_status_errno(201, "x"), 0);
    CU_ASSERT_EQUAL(kube_status_errno(404, "NotFound"), -ENOENT);
    CU_ASSERT_EQUAL(kube_status_errno(409, "AlreadyExists"), -EEXIST);
    CU_ASSERT_EQUAL(kube_status_errno(409, "Conflict"), -EAGAIN);
    CU_ASSERT_EQUAL(kube_status_errno(409, NULL), -EAGAIN);
    CU_ASSERT_EQUAL(kube_status_errno(422, "Invalid"), -EINVAL);
    CU_ASSERT_EQUAL(kube_status_errno(400, "BadRequest"), -EINVAL);
    CU_ASSERT_EQUAL(kube_status_errno(401, "Unauthorized"), -EACCES);
    CU_ASSERT_EQUAL(kube_status_errno(403, "Forbidden"), -EACCES);
    CU_ASSERT_EQUAL(kube_status_errno(410, "Expired"), -ESTALE);
    CU_ASSERT_EQUAL(kube_status_errno(415, NULL), -EOPNOTSUPP);
    CU_ASSERT_EQUAL(kube_status_errno(429, NULL), -EBUSY);
    CU_ASSERT_EQUAL(kube_status_errno(500, "InternalError"), -EIO);
    CU_ASSERT_EQUAL(kube_status_errno(503, NULL), -EIO);
    CU_ASSERT_EQUAL(kube_status_errno(504, "Timeout"), -ETIMEDOUT);
    for (int i = KUBE_EVENT_UNKNOWN + 1; i < _KUBE_EVENT_MAX; i++) {
        CU_ASSERT_EQUAL(kube_event_from_string(kube_event_to_string((enum kube_event) i), &e), 0);
        CU_ASSERT_EQUAL(e, i);
    }
    CU_ASSERT_EQUAL(kube_event_from_string("ERROR", &e), -EINVAL);
    for (int i = KUBE_PATCH_UNKNOWN + 1; i < _KUBE_PATCH_MAX; i++) {
        CU_ASSERT_EQUAL(kube_patch_type_from_string(
                                kube_patch_type_to_string((enum kube_patch_type) i), &t),
                        0);
        CU_ASSERT_EQUAL(t, i);
    }
    CU_ASSERT_EQUAL(kube_patch_type_from_string("apply", &t), -EINVAL);
}

static CU_TestInfo tests[] = {
        {"in_cluster_ipv4", test_kube_config_in_cluster_ipv4},
        {"in_cluster_ipv6_and_defaults", test_kube_config_in_cluster_ipv6_and_defaults},
        {"in_cluster_errors", test_kube_config_in_cluster_errors},
        {"kubeconfig_cert_user", test_kube_config_kubeconfig_cert_user},
        {"kubeconfig_token_user_context", test_kube_config_kubeconfig_token_user_context},
        {"kubeconfig_json_and_token_file", test_kube_config_kubeconfig_json_and_token_file},
        {"kubeconfig_errors_name_keys", test_kube_config_kubeconfig_errors_name_keys},
        {"yaml_subset", test_kube_config_yaml_subset},
        {"yaml_rejects", test_kube_config_yaml_rejects},
        {"paths", test_kube_config_paths},
        {"query_escape", test_kube_config_query_escape},
        {"status_errno_and_enums", test_kube_config_status_errno_and_enums},
        CU_TEST_INFO_NULL,
};

int main(void)
{
    return cu_run_with("kube_config", tests, test_kube_config_init, test_kube_config_cleanup);
}
