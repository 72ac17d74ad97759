/*
 * tests/unit/test_spec.c
 *
 * arbiter/spec: a table of valid and invalid specs with the exact error text the API sends
 * back (422 with the field named; 400 for text that is not JSON); defaults and decoded
 * values; the immutable fields of an update; and the member-name map across iplist edits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/spec.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

#define IP3                                                                            \
    "\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},{\"ip\":\"127.0.0.2\"," \
    "\"nodename\":\"node2\"},{\"ip\":\"127.0.0.3\",\"nodename\":\"node3\"}]"
#define IP1 "\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}]"

struct spec_case {
    const char *name;
    const char *json;
    int rc;            /* 0, -EINVAL (422) or -EBADMSG (400) */
    const char *error; /* exact message for -EINVAL, prefix for -EBADMSG */
};

static const struct spec_case cases[] = {
        {"minimal", "{" IP1 "}", 0, NULL},
        {"three members", "{" IP3 "}", 0, NULL},
        {"original cluster.yaml fields",
         "{\"readport\":30001,\"writeport\":30002,\"dbport\":26000,\"image\":\"opengauss:3.0\","
         "\"localrole\":\"primary\",\"cpu\":\"500m\",\"memory\":\"2Gi\",\"storage\":\"10Gi\","
         "\"bandwidth\":\"100M\",\"backuppath\":\"/data/bk\",\"archivelogpath\":\"/data/arch\","
         "\"hostpathroot\":\"/data/og\",\"sidecarimage\":\"fb:7\",\"sidecarcpu\":\"500m\","
         "\"sidecarmemory\":\"1Gi\",\"sidecarstorage\":\"1Gi\",\"maintenance\":false,"
         "\"config\":{\"max_connections\":\"200\",\"work_mem\":\"4MB\"},"
         "\"scriptconfig\":\"opengauss-script-config\",\"filebeatconfig\":\"fb-config\","
         "\"restorefile\":\"\",\"schedule\":{\"processTimeout\":300,\"gracePeriod\":30,"
         "\"nodes\":[\"node1\"],\"nodelabels\":{\"a\":\"b\"}},\"customizedenv\":{\"og_X\":\"1\"},"
         "\"annotations\":{\"k\":\"v\"},\"labels\":{\"app\":\"og\"},\"networkclass\":\"calico\","
         "\"dbpasswd\":\"SzhTQGFkbWlu\",\"remoteiplist\":[\"10.0.0.9\"],"
         "\"ha\":{\"syncreplicas\":2,\"restartlimit\":5,\"restartwindow\":30,\"losttimeout\":2,"
         "\"maxlagonfailover\":0}," IP3 "}",
         0, NULL},
        {"not json", "{\"iplist\":", -EBADMSG, "invalid JSON"},
        {"not an object", "[]", -EBADMSG, ""},
        {"unknown field", "{" IP1 ",\"foo\":1}", -EINVAL, "spec.foo: unknown field"},
        {"field twice", "{" IP1 ",\"dbport\":1,\"dbport\":2}", -EINVAL, "spec.dbport: given twice"},
        {"no iplist", "{\"dbport\":5432}", -EINVAL, "spec.iplist: missing"},
        {"empty iplist", "{\"iplist\":[]}", -EINVAL, "spec.iplist: expected at least 1 member"},
        {"duplicate ip",
         "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"n1\"},{\"ip\":\"127.0.0.2\","
         "\"nodename\":\"n2\"},{\"ip\":\"127.0.0.2\",\"nodename\":\"n3\"}]}",
         -EINVAL, "spec.iplist[2].ip: duplicate address 127.0.0.2"},
        {"duplicate ip, other spelling",
         "{\"iplist\":[{\"ip\":\"::1\",\"nodename\":\"n1\"},{\"ip\":\"0:0::1\",\"nodename\":\"n2\"}"
         "]}",
         -EINVAL, "spec.iplist[1].ip: duplicate address ::1"},
        {"bad ip", "{\"iplist\":[{\"ip\":\"10.0.0.300\",\"nodename\":\"n1\"}]}", -EINVAL,
         "spec.iplist[0].ip: expected unicast IPv4 or IPv6 address, got \"10.0.0.300\""},
        {"multicast ip", "{\"iplist\":[{\"ip\":\"224.0.0.1\",\"nodename\":\"n1\"}]}", -EINVAL,
         "spec.iplist[0].ip: expected unicast IPv4 or IPv6 address, got \"224.0.0.1\""},
        {"no nodename", "{\"iplist\":[{\"ip\":\"127.0.0.1\"}]}", -EINVAL,
         "spec.iplist[0].nodename: missing"},
        {"bad nodename", "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"Node_1\"}]}", -EINVAL,
         "spec.iplist[0].nodename: expected DNS-1123 subdomain (a node name), got \"Node_1\""},
        {"unknown member field", "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"n\",\"x\":1}]}",
         -EINVAL, "spec.iplist[0].x: unknown field"},
        {"bad extendip",
         "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"n\",\"extendip\":\"x\"}]}", -EINVAL,
         "spec.iplist[0].extendip: expected unicast IPv4 or IPv6 address, got \"x\""},
        {"dbport 0", "{" IP1 ",\"dbport\":0}", -EINVAL,
         "spec.dbport: expected integer in 1..65535, got 0"},
        {"dbport text", "{" IP1 ",\"dbport\":\"5432\"}", -EINVAL,
         "spec.dbport: expected integer in 1..65535, got string"},
        {"readport not a NodePort", "{" IP1 ",\"readport\":8080}", -EINVAL,
         "spec.readport: expected integer in 30000..32767, got 8080"},
        {"same read and write port", "{" IP1 ",\"readport\":30001,\"writeport\":30001}", -EINVAL,
         "spec.writeport: must differ from readport (30001)"},
        {"bad quantity", "{" IP1 ",\"memory\":\"4GB\"}", -EINVAL,
         "spec.memory: expected quantity like \"3Gi\", \"500m\" or \"2\", got \"4GB\""},
        {"zero storage", "{" IP1 ",\"storage\":\"0\"}", -EINVAL,
         "spec.storage: expected a size above 0"},
        {"bad localrole", "{" IP1 ",\"localrole\":\"leader\"}", -EINVAL,
         "spec.localrole: expected primary or standby, got \"leader\""},
        {"standby without remoteiplist", "{" IP1 ",\"localrole\":\"standby\"}", -EINVAL,
         "spec.remoteiplist: required when localrole is standby"},
        {"bad remote ip", "{" IP1 ",\"remoteiplist\":[\"1.2.3\"]}", -EINVAL,
         "spec.remoteiplist[0]: expected unicast IPv4 or IPv6 address, got \"1.2.3\""},
        {"relative path", "{" IP1 ",\"backuppath\":\"data/bk\"}", -EINVAL,
         "spec.backuppath: expected absolute path without . or .. segments, got \"data/bk\""},
        {"dotdot path", "{" IP1 ",\"hostpathroot\":\"/data/../etc\"}", -EINVAL,
         "spec.hostpathroot: expected absolute path without . or .. segments, got "
         "\"/data/../etc\""},
        {"bad networkclass", "{" IP1 ",\"networkclass\":\"flannel\"}", -EINVAL,
         "spec.networkclass: expected calico or kube-ovn, got \"flannel\""},
        {"bad config key", "{" IP1 ",\"config\":{\"Work-Mem\":\"4MB\"}}", -EINVAL,
         "spec.config.Work-Mem: invalid key"},
        {"reserved config key", "{" IP1 ",\"config\":{\"port\":\"5433\"}}", -EINVAL,
         "spec.config.port: set by og-operator itself"},
        {"config value not text", "{" IP1 ",\"config\":{\"work_mem\":4}}", -EINVAL,
         "spec.config.work_mem: expected string, got number"},
        {"bad dbpasswd", "{" IP1 ",\"dbpasswd\":\"not base64!\"}", -EINVAL,
         "spec.dbpasswd: expected base64 text of at most 255 bytes"},
        {"ha unknown key", "{" IP1 ",\"ha\":{\"losttime\":2}}", -EINVAL,
         "spec.ha.losttime: unknown field"},
        {"ha losttimeout 0", "{" IP1 ",\"ha\":{\"losttimeout\":0}}", -EINVAL,
         "spec.ha.losttimeout: expected integer in 1..3600, got 0"},
        {"ha syncreplicas too big", "{" IP1 ",\"ha\":{\"syncreplicas\":32}}", -EINVAL,
         "spec.ha.syncreplicas: expected integer in 0..31, got 32"},
        {"ha restartwindow fraction", "{" IP1 ",\"ha\":{\"restartwindow\":1.5}}", -EINVAL,
         "spec.ha.restartwindow: expected integer in 1..86400, got 1.5"},
        {"schedule unknown key", "{" IP1 ",\"schedule\":{\"period\":1}}", -EINVAL,
         "spec.schedule.period: unknown field"},
        {"labels value not text", "{" IP1 ",\"labels\":{\"a\":true}}", -EINVAL,
         "spec.labels.a: expected string, got boolean"},
        {"maintenance not bool", "{" IP1 ",\"maintenance\":\"yes\"}", -EINVAL,
         "spec.maintenance: expected boolean, got string"},
};

static void test_spec_table(void)
{
    struct spec *s = xcalloc(1, sizeof(*s));

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct spec_case *c = &cases[i];
        struct errbuf eb = {{0}};
        int r = spec_parse(c->json, strlen(c->json), s, &eb);
        bool ok = r == c->rc && (r != -EINVAL || str_eq(eb.msg, c->error)) &&
                  (r != -EBADMSG || str_has_prefix(eb.msg, c->error) || !c->error[0]);

        if (!ok) {
            fprintf(stderr, "\n  case \"%s\": rc %d (want %d), error \"%s\"\n", c->name, r, c->rc,
                    eb.msg);
        }
        CU_ASSERT(ok);
    }
    free(s);
}

static int parse(const char *json, struct spec *s)
{
    struct errbuf eb = {{0}};
    int r = spec_parse(json, strlen(json), s, &eb);

    if (r < 0) {
        fprintf(stderr, "\n  %s\n", eb.msg);
    }
    return r;
}

static void test_spec_defaults_and_values(void)
{
    struct spec *s = xcalloc(1, sizeof(*s));

    CU_ASSERT_EQUAL_FATAL(parse("{\"iplist\":[{\"ip\":\"0:0::2\",\"nodename\":\"n1\"}]}", s), 0);
    CU_ASSERT_EQUAL(s->dbport, 5432);
    CU_ASSERT_EQUAL(s->readport, 0);
    CU_ASSERT_EQUAL(s->localrole, SPEC_LOCALROLE_PRIMARY);
    CU_ASSERT_EQUAL(s->storage_bytes, 3ULL << 30);
    CU_ASSERT_FALSE(s->maintenance);
    CU_ASSERT_FALSE(s->has_password);
    CU_ASSERT_EQUAL(s->ha.sync_replicas, 1);
    CU_ASSERT_EQUAL(s->ha.restart_limit, 3);
    CU_ASSERT_EQUAL(s->ha.restart_window_ms, 60000);
    CU_ASSERT_EQUAL(s->ha.lost_timeout_ms, 5000);
    CU_ASSERT_EQUAL(s->ha.max_lag_bytes, 1048576);
    CU_ASSERT_EQUAL(s->n_members, 1);
    CU_ASSERT_STRING_EQUAL(s->members[0].ip, "::2"); /* canonical form */
    CU_ASSERT_EQUAL(s->n_config, 0);

    CU_ASSERT_EQUAL_FATAL(parse("{" IP3
                                ",\"storage\":\"10Gi\",\"dbport\":26000,\"maintenance\":true,"
                                "\"dbpasswd\":\"SzhTQGFkbWlu\",\"config\":{\"work_mem\":\"4MB\"},"
                                "\"ha\":{\"syncreplicas\":0,\"losttimeout\":2,\"restartwindow\":10,"
                                "\"maxlagonfailover\":5}}",
                                s),
                          0);
    CU_ASSERT_EQUAL(s->storage_bytes, 10ULL << 30);
    CU_ASSERT_EQUAL(s->dbport, 26000);
    CU_ASSERT_TRUE(s->maintenance);
    CU_ASSERT_TRUE(s->has_password);
    CU_ASSERT_STRING_EQUAL(s->password, "K8S@admin"); /* the original's default, decoded */
    CU_ASSERT_EQUAL(s->n_config, 1);
    CU_ASSERT_STRING_EQUAL(s->config[0].key, "work_mem");
    CU_ASSERT_STRING_EQUAL(s->config[0].value, "4MB");
    CU_ASSERT_EQUAL(s->ha.sync_replicas, 0);
    CU_ASSERT_EQUAL(s->ha.lost_timeout_ms, 2000);
    CU_ASSERT_EQUAL(s->ha.restart_window_ms, 10000);
    CU_ASSERT_EQUAL(s->ha.max_lag_bytes, 5);
    CU_ASSERT_EQUAL(s->n_members, 3);
    CU_ASSERT_STRING_EQUAL(s->members[2].nodename, "node3");
    free(s);
}

static void test_spec_names_check(void)
{
    struct errbuf eb = {{0}};
    char long_name[64];

    CU_ASSERT_EQUAL(spec_check_names("default", "demo", &eb), 0);
    CU_ASSERT_EQUAL(spec_check_names("Default", "demo", &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "metadata.namespace: expected DNS-1123 label, got \"Default\"");
    CU_ASSERT_EQUAL(spec_check_names("default", "de_mo", &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "metadata.name: expected DNS-1123 label, got \"de_mo\"");
    memset(long_name, 'a', 60);
    long_name[60] = '\0';
    CU_ASSERT_EQUAL(spec_check_names("default", long_name, &eb), -EINVAL);
    CU_ASSERT(strstr(eb.msg, "metadata.name: expected at most 59 characters") == eb.msg);
}

static void test_spec_update_rules(void)
{
    struct spec *old = xcalloc(1, sizeof(*old)), *s = xcalloc(1, sizeof(*s));
    struct spec_names *names = xcalloc(1, sizeof(*names));
    char got[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1];
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(parse("{" IP3 ",\"dbpasswd\":\"SzhTQGFkbWlu\"}", old), 0);
    CU_ASSERT_EQUAL_FATAL(spec_names_assign("demo", old, names, got, &eb), 0);
    /* Adding a member, changing storage and ha: fine. */
    CU_ASSERT_EQUAL_FATAL(parse("{" IP3 ",\"storage\":\"5Gi\",\"ha\":{\"losttimeout\":9}}", s), 0);
    CU_ASSERT_EQUAL(spec_check_update(old, s, names, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(parse("{" IP3 ",\"dbport\":5433}", s), 0);
    CU_ASSERT_EQUAL(spec_check_update(old, s, names, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "spec.dbport: immutable (5432)");
    CU_ASSERT_EQUAL_FATAL(parse("{" IP3 ",\"dbpasswd\":\"b3RoZXI=\"}", s), 0);
    CU_ASSERT_EQUAL(spec_check_update(old, s, names, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "spec.dbpasswd: immutable");
    CU_ASSERT_EQUAL_FATAL(parse("{\"iplist\":[{\"ip\":\"127.0.0.2\",\"nodename\":\"node2\"},"
                                "{\"ip\":\"127.0.0.1\",\"nodename\":\"node9\"}]}",
                                s),
                          0);
    CU_ASSERT_EQUAL(spec_check_update(old, s, names, &eb), -EINVAL);
    CU_ASSERT(strstr(eb.msg, "spec.iplist[1].nodename: immutable for 127.0.0.1") == eb.msg);
    free(old);
    free(s);
    free(names);
}

/* Names of the iplist `json` after assigning them on names. */
static int assign(const char *json, struct spec_names *names,
                  char got[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1])
{
    struct spec *s = xcalloc(1, sizeof(*s));
    struct errbuf eb = {{0}};
    int r = parse(json, s);

    if (r == 0) {
        r = spec_names_assign("demo", s, names, got, &eb);
    }
    free(s);
    return r;
}

#define M(ip) "{\"ip\":\"" ip "\",\"nodename\":\"n\"}"

static void test_spec_names_stable(void)
{
    struct spec_names *names = xcalloc(1, sizeof(*names));
    char got[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1];

    CU_ASSERT_EQUAL_FATAL(
            assign("{\"iplist\":[" M("10.0.0.1") "," M("10.0.0.2") "," M("10.0.0.3") "]}", names,
                   got),
            0);
    CU_ASSERT_STRING_EQUAL(got[0], "demo-0");
    CU_ASSERT_STRING_EQUAL(got[1], "demo-1");
    CU_ASSERT_STRING_EQUAL(got[2], "demo-2");
    /* Reordered, one removed, one added: the survivors keep their names. */
    CU_ASSERT_EQUAL_FATAL(
            assign("{\"iplist\":[" M("10.0.0.3") "," M("10.0.0.1") "," M("10.0.0.4") "]}", names,
                   got),
            0);
    CU_ASSERT_STRING_EQUAL(got[0], "demo-2");
    CU_ASSERT_STRING_EQUAL(got[1], "demo-0");
    CU_ASSERT_STRING_EQUAL(got[2], "demo-3");
    /* A removed address that comes back gets its old name; new ones keep counting. */
    CU_ASSERT_EQUAL_FATAL(assign("{\"iplist\":[" M("10.0.0.2") "," M("10.0.0.5") "]}", names, got),
                          0);
    CU_ASSERT_STRING_EQUAL(got[0], "demo-1");
    CU_ASSERT_STRING_EQUAL(got[1], "demo-4");
    CU_ASSERT_EQUAL(names->next_index, 5);
    CU_ASSERT_EQUAL(names->n, 5);
    /* Another spelling of a known address is the same address, and the same member. */
    CU_ASSERT_EQUAL_FATAL(assign("{\"iplist\":[" M("2001:db8::1") "]}", names, got), 0);
    CU_ASSERT_STRING_EQUAL(got[0], "demo-5");
    CU_ASSERT_EQUAL_FATAL(assign("{\"iplist\":[" M("2001:DB8:0:0::1") "]}", names, got), 0);
    CU_ASSERT_STRING_EQUAL(got[0], "demo-5");
    CU_ASSERT_EQUAL_FATAL(
            assign("{\"iplist\":[" M("::ffff:10.0.0.9") "," M("::FFFF:a00:9") "]}", names, got),
            -EINVAL);
    free(names);
}

static void test_spec_names_full_map(void)
{
    struct spec_names *names = xcalloc(1, sizeof(*names));
    char got[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1];
    char json[256];

    for (int i = 0; i < SPEC_MAX_NAMES + 10; i++) {
        (void) snprintf(json, sizeof(json),
                        "{\"iplist\":[" M("10.0.0.1") ",{\"ip\":\"10.1.%d.%d\","
                                                      "\"nodename\":\"n\"}]}",
                        i / 200, i % 200 + 1);
        CU_ASSERT_EQUAL_FATAL(assign(json, names, got), 0);
        CU_ASSERT_STRING_EQUAL(got[0], "demo-0"); /* a current member is never forgotten */
    }
    CU_ASSERT_EQUAL(names->n, SPEC_MAX_NAMES);
    CU_ASSERT_EQUAL(names->next_index, SPEC_MAX_NAMES + 11);
    free(names);
}

static void test_spec_names_too_long(void)
{
    struct spec *s = xcalloc(1, sizeof(*s));
    struct spec_names *names = xcalloc(1, sizeof(*names));
    char got[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1], cluster[64];
    struct errbuf eb = {{0}};

    memset(cluster, 'c', 62); /* "<62 c>-0" is 64 characters */
    cluster[62] = '\0';
    CU_ASSERT_EQUAL_FATAL(parse("{" IP1 "}", s), 0);
    CU_ASSERT_EQUAL(spec_names_assign(cluster, s, names, got, &eb), -EINVAL);
    CU_ASSERT_EQUAL(names->n, 0); /* untouched on error */
    CU_ASSERT(strstr(eb.msg, "is not a DNS label") != NULL);
    free(s);
    free(names);
}

static void test_spec_set_maintenance(void)
{
    char *t = spec_set_maintenance("{\"iplist\":[],\"maintenance\":false,\"x\":1}", true);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "{\"iplist\":[],\"x\":1,\"maintenance\":true}");
    free(t);
    t = spec_set_maintenance("{}", false);
    CU_ASSERT_STRING_EQUAL(t, "{\"maintenance\":false}");
    free(t);
    CU_ASSERT_PTR_NULL(spec_set_maintenance("[]", true));
}

static void test_spec_localrole_names(void)
{
    enum spec_localrole r = SPEC_LOCALROLE_UNKNOWN;

    for (int v = SPEC_LOCALROLE_UNKNOWN + 1; v < _SPEC_LOCALROLE_MAX; v++) {
        CU_ASSERT_EQUAL(
                spec_localrole_from_string(spec_localrole_to_string((enum spec_localrole) v), &r),
                0);
        CU_ASSERT_EQUAL(r, v);
    }
    CU_ASSERT_EQUAL(spec_localrole_from_string("unknown", &r), -EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"valid and invalid specs", test_spec_table},
            {"defaults and decoded values", test_spec_defaults_and_values},
            {"namespace and name", test_spec_names_check},
            {"update rules", test_spec_update_rules},
            {"member names stable across edits", test_spec_names_stable},
            {"full name map forgets old addresses", test_spec_names_full_map},
            {"member names too long", test_spec_names_too_long},
            {"maintenance in the spec text", test_spec_set_maintenance},
            {"localrole names", test_spec_localrole_names},
            CU_TEST_INFO_NULL,
    };

    return cu_run("spec", tests);
}
