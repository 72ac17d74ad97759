/*
 * common/kube_config.c
 *
 * Loads a struct kube_config from the service account files of a pod or from a kubeconfig
 * file. A kubeconfig is YAML in practice (kubectl writes it through a JSON-to-YAML encoder,
 * so its shapes are few: block mappings and sequences of one-line scalars), JSON sometimes.
 * Both become a cJSON tree first, so the kubeconfig rules below read one representation
 * and their errors name JSON-style paths ("clusters[0].cluster.server: missing").
 *
 * The YAML reader is a line-based recursive descent over a small subset (see kube_config.h)
 * rather than a YAML library: Debian ships libyaml, but the project links only the libraries
 * named in the brief, and the subset is all kubectl emits. What it does not support, it
 * rejects by name and line, never guesses.
 *
 * Layer: edge (files).
 */
#include "common/kube_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

#define KC_YAML_MAX_DEPTH 32      /* nesting of blocks; kubeconfigs use about 4 */
#define KC_MAX_NAMED      10000   /* entries of clusters/contexts/users looked at */
#define KC_DATA_MAX       1048576 /* base64 text of one *-data field */

/* One non-empty line of YAML after comment removal: text starts after the indentation. */
struct kc_line {
    char *text;
    unsigned indent;
    unsigned lineno;
};

struct kc_yaml {
    struct kc_line *lines;
    size_t n;
    size_t cur; /* next line to consume */
    unsigned depth;
    struct errbuf *eb;
};

/* cJSON returns NULL only when out of memory: abort, as xmalloc does (STYLE.md "OOM"). */
static cJSON *kc_check(cJSON *j)
{
    if (!j) {
        abort();
    }
    return j;
}

void kube_config_done(struct kube_config *cfg)
{
    if (!cfg) {
        return;
    }
    free(cfg->ca_data);
    free(cfg->client_cert_data);
    free(cfg->client_key_data);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- YAML subset ---- */

/* Sets eb to "line N: <message>" and returns err. */
static int kc_yaml_error(struct kc_yaml *y, int err, unsigned lineno, const char *what)
{
    errbuf_set(y->eb, "line %u: %s", lineno, what);
    return err;
}

/* Cuts a comment (" #..." or a leading "#") outside quotes and trailing blanks, in place. */
static void kc_yaml_strip(char *s)
{
    char quote = 0;
    size_t n;

    for (char *p = s; *p; p++) {
        bool after_blank = p == s || p[-1] == ' ' || p[-1] == '\t';

        if (quote) {
            if (quote == '"' && *p == '\\' && p[1]) {
                p++;
            } else if (*p == quote) {
                quote = 0;
            }
        } else if ((*p == '"' || *p == '\'') && (after_blank || strchr("[{,:", p[-1]) != NULL)) {
            quote = *p;
        } else if (*p == '#' && after_blank) {
            *p = '\0';
            break;
        }
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
}

/* Splits text (modified in place) into the lines that carry content. */
static int kc_yaml_split(struct kc_yaml *y, char *text)
{
    unsigned lineno = 0;
    size_t cap = 0;
    char *next;

    for (char *s = text; s; s = next) {
        unsigned indent = 0;

        next = strchr(s, '\n');
        if (next) {
            *next++ = '\0';
        }
        lineno++;
        while (s[indent] == ' ') {
            indent++;
        }
        if (s[indent] == '\t') {
            return kc_yaml_error(y, -EINVAL, lineno, "tab in indentation");
        }
        kc_yaml_strip(s + indent);
        if (s[indent] == '\0' ||
            (indent == 0 && (strcmp(s, "---") == 0 || s[0] == '%' || strcmp(s, "...") == 0))) {
            continue;
        }
        if (y->n == cap) {
            cap = cap ? cap * 2 : 64;
            y->lines = xrealloc(y->lines, cap * sizeof(*y->lines));
        }
        y->lines[y->n++] = (struct kc_line){s + indent, indent, lineno};
    }
    return 0;
}

/* Appends the UTF-8 form of code point cp (not 0, not a surrogate) at *out. */
static void kc_utf8_put(char **out, unsigned cp)
{
    char *o = *out;

    if (cp < 0x80) {
        *o++ = (char) cp;
    } else if (cp < 0x800) {
        *o++ = (char) (0xC0 | (cp >> 6));
        *o++ = (char) (0x80 | (cp & 0x3F));
    } else {
        *o++ = (char) (0xE0 | (cp >> 12));
        *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char) (0x80 | (cp & 0x3F));
    }
    *out = o;
}

/* Value of n hex digits at s, or -1. */
static long kc_hex(const char *s, int n)
{
    long v = 0;

    for (int i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;

        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* One escape after a backslash in a double-quoted scalar; advances *in; false when invalid. */
static bool kc_yaml_escape(const char **in, char **out)
{
    static const char from[] = "\\\"/ntrbfav";
    static const char to[] = "\\\"/\n\t\r\b\f\a\v";
    const char *s = *in;
    const char *hit = *s ? strchr(from, *s) : NULL;
    long cp;
    int digits;

    if (hit) {
        *(*out)++ = to[hit - from];
        *in = s + 1;
        return true;
    }
    digits = *s == 'x' ? 2 : *s == 'u' ? 4 : 0;
    cp = digits ? kc_hex(s + 1, digits) : -1;
    if (cp <= 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return false; /* unknown escape, NUL or a surrogate half */
    }
    kc_utf8_put(out, (unsigned) cp);
    *in = s + 1 + digits;
    return true;
}

/*
 * Reads the quoted scalar at s (s[0] is the quote) into a new string *ret and returns the
 * position after the closing quote, or NULL when it is malformed or unterminated.
 */
static const char *kc_yaml_quoted(const char *s, char **ret)
{
    char quote = s[0];
    char *buf = xmalloc(strlen(s) + 1);
    char *o = buf;
    const char *p = s + 1;

    for (;;) {
        if (*p == '\0') {
            free(buf);
            return NULL;
        }
        if (*p == quote && quote == '\'' && p[1] == '\'') {
            *o++ = '\'';
            p += 2;
        } else if (*p == quote) {
            break;
        } else if (quote == '"' && *p == '\\') {
            p++;
            if (!kc_yaml_escape(&p, &o)) {
                free(buf);
                return NULL;
            }
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *ret = buf;
    return p + 1;
}

/* A scalar or JSON flow collection written on one line. */
static int kc_yaml_scalar(struct kc_yaml *y, unsigned lineno, const char *s, cJSON **ret)
{
    struct errbuf ignored = {{0}};
    char *text = NULL;
    const char *end;

    if (*s == '"' || *s == '\'') {
        end = kc_yaml_quoted(s, &text);
        if (!end || *end) {
            free(text);
            return kc_yaml_error(y, -EINVAL, lineno, "malformed or multi-line quoted scalar");
        }
        *ret = kc_check(cJSON_CreateString(text));
        free(text);
        return 0;
    }
    if (*s == '{' || *s == '[') {
        if (json_parse(s, strlen(s), KC_YAML_MAX_DEPTH, ret, &ignored) < 0) {
            return kc_yaml_error(y, -ENOTSUP, lineno,
                                 "flow collection that is not JSON is not supported");
        }
        return 0;
    }
    if (strchr("|>&*!?@`", *s)) {
        return kc_yaml_error(y, -ENOTSUP, lineno,
                             "block scalars, anchors, aliases and tags are not supported");
    }
    if (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0) {
        *ret = kc_check(cJSON_CreateNull());
        return 0;
    }
    *ret = kc_check(cJSON_CreateString(s));
    return 0;
}

/* The quoted key at s: 1 with *ret_key (heap) and *ret_colon, 0 for a quoted scalar that is
 * no key, -EINVAL when malformed. */
static int kc_yaml_quoted_key(const char *s, char **ret_key, const char **ret_colon)
{
    char *key = NULL;
    const char *end = kc_yaml_quoted(s, &key);

    if (!end) {
        return -EINVAL;
    }
    while (*end == ' ') {
        end++;
    }
    if (*end != ':' || (end[1] != ' ' && end[1] != '\0')) {
        free(key);
        return 0;
    }
    *ret_key = key;
    *ret_colon = end;
    return 1;
}

/*
 * When s is "key: value" (or "key:"), returns 1 with the key in *ret_key (heap, when
 * ret_key is not NULL) and *ret_value pointing at the value in s ("" when none). Returns 0
 * when s is not a mapping entry, -EINVAL for a malformed quoted key.
 */
static int kc_yaml_key(const char *s, char **ret_key, const char **ret_value)
{
    const char *colon;
    char *key = NULL;

    if (*s == '"' || *s == '\'') {
        int r = kc_yaml_quoted_key(s, &key, &colon);

        if (r <= 0) {
            return r;
        }
    } else {
        if (*s == '{' || *s == '[') {
            return 0;
        }
        for (colon = strchr(s, ':'); colon && colon[1] != ' ' && colon[1] != '\0';
             colon = strchr(colon + 1, ':')) {
        }
        if (!colon || colon == s) {
            return 0;
        }
        key = xstrndup(s, (size_t) (colon - s));
        for (size_t n = strlen(key); n > 0 && key[n - 1] == ' '; n--) {
            key[n - 1] = '\0';
        }
    }
    colon++;
    while (*colon == ' ') {
        colon++;
    }
    *ret_value = colon;
    if (ret_key) {
        *ret_key = key;
    } else {
        free(key);
    }
    return 1;
}

static bool kc_yaml_is_item(const char *s)
{
    return s[0] == '-' && (s[1] == '\0' || s[1] == ' ');
}

static int kc_yaml_block(struct kc_yaml *y, cJSON **ret);

/* The value after "key:" or "-": inline, a nested block, or null when nothing follows. */
static int kc_yaml_value(struct kc_yaml *y, unsigned indent, bool seq_at_same_indent,
                         const char *value, unsigned lineno, cJSON **ret)
{
    const struct kc_line *next = y->cur < y->n ? &y->lines[y->cur] : NULL;

    if (*value) {
        return kc_yaml_scalar(y, lineno, value, ret);
    }
    if (next && (next->indent > indent ||
                 (seq_at_same_indent && next->indent == indent && kc_yaml_is_item(next->text)))) {
        return kc_yaml_block(y, ret);
    }
    *ret = kc_check(cJSON_CreateNull());
    return 0;
}

static int kc_yaml_map(struct kc_yaml *y, unsigned indent, cJSON **ret)
{
    cJSON *obj = kc_check(cJSON_CreateObject());
    int r = 0;

    while (y->cur < y->n && r == 0) {
        struct kc_line *line = &y->lines[y->cur];
        const char *value = NULL;
        char *key = NULL;
        cJSON *child = NULL;

        if (line->indent < indent || (line->indent == indent && kc_yaml_is_item(line->text))) {
            break;
        }
        if (line->indent > indent) {
            r = kc_yaml_error(y, -EINVAL, line->lineno, "unexpected indentation");
            break;
        }
        r = kc_yaml_key(line->text, &key, &value);
        if (r <= 0) {
            r = kc_yaml_error(y, -EINVAL, line->lineno, "expected \"key: value\"");
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
            free(key);
            r = kc_yaml_error(y, -EINVAL, line->lineno, "duplicate key");
            break;
        }
        y->cur++;
        r = kc_yaml_value(y, indent, true, value, line->lineno, &child);
        if (r == 0) {
            cJSON_AddItemToObject(obj, key, child);
        }
        free(key);
    }
    if (r < 0) {
        cJSON_Delete(obj);
        return r;
    }
    *ret = obj;
    return 0;
}

static int kc_yaml_seq(struct kc_yaml *y, unsigned indent, cJSON **ret)
{
    cJSON *arr = kc_check(cJSON_CreateArray());
    int r = 0;

    while (y->cur < y->n && r == 0) {
        struct kc_line *line = &y->lines[y->cur];
        const char *rest = line->text + 1;
        cJSON *child = NULL;

        if (line->indent < indent || !kc_yaml_is_item(line->text)) {
            break;
        }
        if (line->indent > indent) {
            r = kc_yaml_error(y, -EINVAL, line->lineno, "unexpected indentation");
            break;
        }
        while (*rest == ' ') {
            rest++;
        }
        if (*rest == '\0') {
            y->cur++;
            r = kc_yaml_value(y, indent, false, "", line->lineno, &child);
        } else {
            /* "- key: v" opens a block whose lines are indented to where "key" starts. */
            line->indent += (unsigned) (rest - line->text);
            line->text = (char *) rest;
            r = kc_yaml_block(y, &child);
        }
        if (r == 0) {
            cJSON_AddItemToArray(arr, child);
        }
    }
    if (r < 0) {
        cJSON_Delete(arr);
        return r;
    }
    *ret = arr;
    return 0;
}

/* The block that starts at the current line: a sequence, a mapping or one scalar. */
static int kc_yaml_block(struct kc_yaml *y, cJSON **ret)
{
    struct kc_line *line = &y->lines[y->cur];
    const char *value = NULL;
    int r;

    if (y->depth >= KC_YAML_MAX_DEPTH) {
        return kc_yaml_error(y, -EINVAL, line->lineno, "nested too deeply");
    }
    y->depth++;
    if (kc_yaml_is_item(line->text)) {
        r = kc_yaml_seq(y, line->indent, ret);
    } else {
        r = kc_yaml_key(line->text, NULL, &value);
        if (r < 0) {
            r = kc_yaml_error(y, r, line->lineno, "malformed quoted key");
        } else if (r > 0) {
            r = kc_yaml_map(y, line->indent, ret);
        } else {
            y->cur++;
            r = kc_yaml_scalar(y, line->lineno, line->text, ret);
            if (r == 0 && y->cur < y->n && y->lines[y->cur].indent > line->indent) {
                cJSON_Delete(*ret);
                r = kc_yaml_error(y, -ENOTSUP, y->lines[y->cur].lineno,
                                  "multi-line scalars are not supported");
            }
        }
    }
    y->depth--;
    return r;
}

int kube_config_parse_text(const char *text, size_t len, cJSON **ret, struct errbuf *eb)
{
    struct kc_yaml y = {.eb = eb};
    char *copy = NULL;
    cJSON *doc = NULL;
    size_t i = 0;
    int r;

    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
        i++;
    }
    if (i < len && text[i] == '{') {
        return json_parse(text, len, 0, ret, eb);
    }
    if (memchr(text, '\0', len)) {
        errbuf_set(eb, "NUL byte in text");
        return -EINVAL;
    }
    copy = xstrndup(text, len);
    r = kc_yaml_split(&y, copy);
    if (r == 0 && y.n == 0) {
        errbuf_set(eb, "empty document");
        r = -EINVAL;
    }
    if (r == 0) {
        r = kc_yaml_block(&y, &doc);
    }
    if (r == 0 && y.cur < y.n) {
        r = kc_yaml_error(&y, -EINVAL, y.lines[y.cur].lineno, "unexpected content");
    }
    if (r == 0) {
        *ret = doc;
        doc = NULL;
    }
    cJSON_Delete(doc);
    free(y.lines);
    free(copy);
    return r;
}

/* ---- values ---- */

/* Decodes standard base64 (padding optional, blanks skipped) into a new buffer. */
static int kc_base64_decode(const char *s, char **ret, size_t *ret_len)
{
    size_t n = strlen(s);
    unsigned char *out = xmalloc(n / 4 * 3 + 4);
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0;
    bool pad = false;

    for (; *s; s++) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *hit = strchr(alphabet, *s);

        if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
            continue;
        }
        if (*s == '=') {
            pad = true;
            continue;
        }
        if (!hit || pad) {
            free(out);
            return -EINVAL;
        }
        acc = (acc << 6) | (unsigned) (hit - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits >= 6 || len == 0) {
        free(out);
        return -EINVAL; /* a lone trailing character, or nothing at all */
    }
    out[len] = '\0';
    *ret = (char *) out;
    *ret_len = len;
    return 0;
}

int kube_config_read_token(const char *path, char *buf, size_t size, struct errbuf *eb)
{
    char *data = NULL;
    size_t len = 0, start = 0;
    int r;

    r = fs_read_file(path, size - 1, &data, &len, eb);
    if (r < 0) {
        errbuf_prefix(eb, "token file");
        return r;
    }
    while (len > 0 && strchr(" \t\r\n", data[len - 1])) {
        len--;
    }
    while (start < len && strchr(" \t\r\n", data[start])) {
        start++;
    }
    data[len] = '\0';
    if (start == len || strpbrk(data + start, "\r\n") || strlen(data + start) != len - start) {
        errbuf_set(eb, "token file %s: empty, or holds line breaks or NUL bytes", path);
        free(data);
        return -EINVAL;
    }
    memcpy(buf, data + start, len - start + 1);
    free(data);
    return 0;
}

/* Checks and normalises the server URL (http[s]://..., no trailing slash) into cfg. */
static int kc_set_server(struct kube_config *cfg, const char *server, struct errbuf *eb)
{
    size_t n;

    if (!str_has_prefix(server, "https://") && !str_has_prefix(server, "http://")) {
        errbuf_set(eb, "server \"%.64s\": expected an http:// or https:// URL", server);
        return -EINVAL;
    }
    if (strpbrk(server, " \t\r\n?#") || str_copy(cfg->server, sizeof(cfg->server), server) < 0) {
        errbuf_set(eb, "server \"%.64s\": blanks, query or too long", server);
        return -EINVAL;
    }
    n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/') {
        cfg->server[--n] = '\0';
    }
    return 0;
}

/* ---- in-cluster ---- */

/* The optional namespace file; "default" when it is missing. */
static int kc_read_namespace(const char *dir, struct kube_config *cfg, struct errbuf *eb)
{
    char *path = xasprintf("%s/namespace", dir);
    char ns[KUBE_NAMESPACE_MAX + 8];
    int r = kube_config_read_token(path, ns, sizeof(ns), eb);

    if (r == -ENOENT) {
        r = str_copy(cfg->namespace_, sizeof(cfg->namespace_), "default");
    } else if (r == 0 && !str_is_dns_label(ns)) {
        errbuf_set(eb, "%s: \"%.64s\" is not a namespace name", path, ns);
        r = -EINVAL;
    } else if (r == 0) {
        r = str_copy(cfg->namespace_, sizeof(cfg->namespace_), ns);
    } else {
        errbuf_prefix(eb, "%s", path);
    }
    free(path);
    return r;
}

/* host:port of the API server into cfg->server, with brackets around an IPv6 address. */
static int kc_in_cluster_server(const char *host, const char *port, struct kube_config *cfg,
                                struct errbuf *eb)
{
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';
    uint32_t p = 0;
    char *url;
    int r;

    if (str_to_u32(port, 1, 65535, &p) < 0) {
        errbuf_set(eb, "KUBERNETES_SERVICE_PORT \"%.16s\": expected a port in 1..65535", port);
        return -EINVAL;
    }
    if (strpbrk(host, "/?#@ \t\r\n") || strlen(host) > 255) {
        errbuf_set(eb, "KUBERNETES_SERVICE_HOST \"%.64s\": not a host name or address", host);
        return -EINVAL;
    }
    url = xasprintf("https://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", p);
    r = kc_set_server(cfg, url, eb);
    free(url);
    return r;
}

int kube_config_in_cluster(const char *service_host, const char *service_port, const char *sa_dir,
                           struct kube_config *ret, struct errbuf *eb)
{
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct stat st;
    int r;

    if (!sa_dir) {
        sa_dir = KUBE_SA_DIR;
    }
    if (str_is_empty(service_host) || str_is_empty(service_port)) {
        errbuf_set(eb, "not running in a pod: %s is not set",
                   str_is_empty(service_host) ? "KUBERNETES_SERVICE_HOST"
                                              : "KUBERNETES_SERVICE_PORT");
        r = -ENOENT;
        goto out;
    }
    r = kc_in_cluster_server(service_host, service_port, cfg, eb);
    if (r < 0) {
        goto out;
    }
    (void) snprintf(cfg->token_file, sizeof(cfg->token_file), "%s/token", sa_dir);
    (void) snprintf(cfg->ca_file, sizeof(cfg->ca_file), "%s/ca.crt", sa_dir);
    r = kube_config_read_token(cfg->token_file, cfg->token, sizeof(cfg->token), eb);
    if (r < 0) {
        goto out;
    }
    if (stat(cfg->ca_file, &st) < 0) {
        r = -errno;
        errbuf_set(eb, "%s: %s", cfg->ca_file, r == -ENOENT ? "missing" : "cannot stat");
        goto out;
    }
    r = kc_read_namespace(sa_dir, cfg, eb);
    if (r < 0) {
        goto out;
    }
    *ret = *cfg;
out:
    free(cfg);
    return r;
}

/* ---- kubeconfig ---- */

/* What the kubeconfig rules share: the parsed document and the file's directory. */
struct kc_doc {
    const cJSON *root;
    char dir[PATH_MAX];
    const char *path;
};

/*
 * The element of the list `list` ("clusters", "contexts", "users") named name, with its
 * object member `inner` ("cluster", ...) in *ret and its path for later errors in at[0..1].
 */
static int kc_find(const struct kc_doc *d, const char *list, const char *name, const char *inner,
                   struct json_path at[2], const cJSON **ret, struct errbuf *eb)
{
    const cJSON *arr = NULL;
    const cJSON *elem;
    size_t i = 0;
    int n;

    n = json_get_array(d->root, NULL, list, true, KC_MAX_NAMED, &arr, eb);
    if (n < 0) {
        return n;
    }
    at[0] = (struct json_path){NULL, list, 0};
    cJSON_ArrayForEach(elem, arr)
    {
        char elem_name[512];

        at[1] = (struct json_path){&at[0], NULL, i++};
        if (json_get_str(elem, &at[1], "name", true, elem_name, sizeof(elem_name), eb) < 0) {
            return -EINVAL;
        }
        if (strcmp(elem_name, name) == 0) {
            return json_get_object(elem, &at[1], inner, true, ret, eb);
        }
    }
    errbuf_set(eb, "%s: no entry named \"%.64s\"", list, name);
    return -ENOENT;
}

/* Optional boolean: JSON true/false or YAML text ("true", "false", ...); missing → false. */
static int kc_get_bool(const cJSON *obj, const struct json_path *at, const char *key, bool *ret,
                       struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *ret = false;
    if (!v || cJSON_IsNull(v)) {
        return 0;
    }
    if (cJSON_IsBool(v)) {
        *ret = cJSON_IsTrue(v);
        return 0;
    }
    return json_expect(eb, at, key, cJSON_IsString(v) && str_to_bool(v->valuestring, ret) == 0,
                       "true or false", cJSON_IsString(v) ? v->valuestring : json_type_name(v));
}

/* Optional file name, resolved against the kubeconfig's directory when relative. */
static int kc_get_file(const struct kc_doc *d, const cJSON *obj, const struct json_path *at,
                       const char *key, char *buf, size_t size, struct errbuf *eb)
{
    char name[PATH_MAX];
    int r = json_get_str(obj, at, key, false, name, sizeof(name), eb);

    if (r < 0 || name[0] == '\0' || name[0] == '/') {
        return r < 0 ? r : str_copy(buf, size, name);
    }
    if ((size_t) snprintf(buf, size, "%s/%s", d->dir, name) >= size) {
        return json_error(eb, at, key, "path too long");
    }
    return 0;
}

/* Optional base64 field decoded into a new buffer (*ret stays NULL when absent). */
static int kc_get_data(const cJSON *obj, const struct json_path *at, const char *key, char **ret,
                       size_t *ret_len, struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) > KC_DATA_MAX) {
        return json_expect(eb, at, key, false, "base64 text of at most 1 MiB", NULL);
    }
    if (kc_base64_decode(v->valuestring, ret, ret_len) < 0) {
        return json_expect(eb, at, key, false, "base64 text", NULL);
    }
    return 0;
}

static int kc_load_cluster(const struct kc_doc *d, const char *name, struct kube_config *cfg,
                           struct errbuf *eb)
{
    struct json_path at[3];
    const cJSON *cl = NULL;
    char server[KUBE_SERVER_MAX];
    int r;

    r = kc_find(d, "clusters", name, "cluster", at, &cl, eb);
    if (r < 0) {
        return r;
    }
    at[2] = (struct json_path){&at[1], "cluster", 0};
    r = json_get_str(cl, &at[2], "server", true, server, sizeof(server), eb);
    if (r == 0) {
        r = kc_set_server(cfg, server, eb);
    }
    if (r == 0) {
        r = kc_get_file(d, cl, &at[2], "certificate-authority", cfg->ca_file, sizeof(cfg->ca_file),
                        eb);
    }
    if (r == 0) {
        r = kc_get_data(cl, &at[2], "certificate-authority-data", &cfg->ca_data, &cfg->ca_data_len,
                        eb);
    }
    if (r == 0) {
        r = kc_get_bool(cl, &at[2], "insecure-skip-tls-verify", &cfg->insecure, eb);
    }
    return r;
}

/* Rejects the credential kinds we do not implement, by name. */
static int kc_user_unsupported(const cJSON *user, const struct json_path *at, struct errbuf *eb)
{
    static const char *const keys[] = {"exec", "auth-provider", "username", "password"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (json_has(user, keys[i])) {
            (void) json_error(eb, at, keys[i],
                              "not supported (use token, tokenFile or a client certificate)");
            return -ENOTSUP;
        }
    }
    return 0;
}

static int kc_load_user(const struct kc_doc *d, const char *name, struct kube_config *cfg,
                        struct errbuf *eb)
{
    struct json_path at[3];
    const cJSON *u = NULL;
    int r;

    r = kc_find(d, "users", name, "user", at, &u, eb);
    if (r < 0) {
        return r;
    }
    at[2] = (struct json_path){&at[1], "user", 0};
    r = kc_user_unsupported(u, &at[2], eb);
    if (r == 0) {
        r = json_get_str(u, &at[2], "token", false, cfg->token, sizeof(cfg->token), eb);
    }
    if (r == 0) {
        r = kc_get_file(d, u, &at[2], "tokenFile", cfg->token_file, sizeof(cfg->token_file), eb);
    }
    if (r == 0 && cfg->token_file[0]) {
        r = kube_config_read_token(cfg->token_file, cfg->token, sizeof(cfg->token), eb);
    }
    if (r == 0) {
        r = kc_get_file(d, u, &at[2], "client-certificate", cfg->client_cert,
                        sizeof(cfg->client_cert), eb);
    }
    if (r == 0) {
        r = kc_get_data(u, &at[2], "client-certificate-data", &cfg->client_cert_data,
                        &cfg->client_cert_data_len, eb);
    }
    if (r == 0) {
        r = kc_get_file(d, u, &at[2], "client-key", cfg->client_key, sizeof(cfg->client_key), eb);
    }
    if (r == 0) {
        r = kc_get_data(u, &at[2], "client-key-data", &cfg->client_key_data,
                        &cfg->client_key_data_len, eb);
    }
    if (r == 0 && (cfg->client_cert[0] || cfg->client_cert_data) !=
                          (cfg->client_key[0] || cfg->client_key_data)) {
        r = json_error(eb, &at[2], NULL,
                       "a client certificate and a client key go together (one is missing)");
    }
    if (r == 0 && strpbrk(cfg->token, "\r\n")) {
        r = json_error(eb, &at[2], "token", "line break in token");
    }
    return r;
}

/* The context's cluster, user and namespace, then those entries, into cfg. */
static int kc_load_context(const struct kc_doc *d, const char *context, struct kube_config *cfg,
                           struct errbuf *eb)
{
    char name[512], cluster[512], user[512];
    struct json_path at[3];
    const cJSON *ctx = NULL;
    int r;

    if (context) {
        r = str_copy(name, sizeof(name), context);
    } else {
        r = json_get_str(d->root, NULL, "current-context", true, name, sizeof(name), eb);
    }
    if (r == 0) {
        r = kc_find(d, "contexts", name, "context", at, &ctx, eb);
    }
    if (r < 0) {
        return r;
    }
    at[2] = (struct json_path){&at[1], "context", 0};
    r = json_get_str(ctx, &at[2], "cluster", true, cluster, sizeof(cluster), eb);
    if (r == 0) {
        r = json_get_str(ctx, &at[2], "user", false, user, sizeof(user), eb);
    }
    if (r == 0) {
        r = json_get_str(ctx, &at[2], "namespace", false, cfg->namespace_, sizeof(cfg->namespace_),
                         eb);
    }
    if (r == 0 && cfg->namespace_[0] && !str_is_dns_label(cfg->namespace_)) {
        r = json_expect(eb, &at[2], "namespace", false, "a namespace name", cfg->namespace_);
    }
    if (r == 0 && !cfg->namespace_[0]) {
        r = str_copy(cfg->namespace_, sizeof(cfg->namespace_), "default");
    }
    if (r == 0) {
        r = kc_load_cluster(d, cluster, cfg, eb);
    }
    if (r == 0 && user[0]) {
        r = kc_load_user(d, user, cfg, eb);
    }
    return r;
}

int kube_config_from_kubeconfig(const char *path, const char *context, struct kube_config *ret,
                                struct errbuf *eb)
{
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kc_doc d = {.path = path};
    const char *slash = strrchr(path, '/');
    cJSON *root = NULL;
    char *text = NULL;
    size_t len = 0;
    int r;

    r = fs_read_file(path, KUBE_KUBECONFIG_MAX, &text, &len, eb);
    if (r < 0) {
        goto out;
    }
    r = kube_config_parse_text(text, len, &root, eb);
    if (r == 0 && !cJSON_IsObject(root)) {
        errbuf_set(eb, "expected a mapping at the top level");
        r = -EINVAL;
    }
    if (r < 0) {
        errbuf_prefix(eb, "kubeconfig %s", path);
        goto out;
    }
    d.root = root;
    (void) snprintf(d.dir, sizeof(d.dir), "%.*s", slash ? (int) (slash - path) : 1,
                    slash ? path : ".");
    if (slash == path) {
        (void) str_copy(d.dir, sizeof(d.dir), "");
    }
    r = kc_load_context(&d, context, cfg, eb);
    if (r < 0) {
        errbuf_prefix(eb, "kubeconfig %s", path);
        kube_config_done(cfg);
        goto out;
    }
    *ret = *cfg;
out:
    cJSON_Delete(root);
    free(text);
    free(cfg);
    return r;
}
