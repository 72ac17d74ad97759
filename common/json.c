/*
 * common/json.c
 *
 * Typed getters and builders over cJSON with path-naming errors; see json.h for the number
 * rules. cJSON is lenient where our peers must not be: it takes any byte <= 32 as white space,
 * copies raw control characters and "\u0000" into strings (silently cutting a C string short)
 * and prints large numbers with 15 significant digits. json_parse pre-scans the text and the
 * builders write integers themselves, so what we accept and what we send is exactly JSON.
 *
 * Layer: core
 */
#include "common/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

#define JSON_PATH_SHOWN 32 /* path steps printed; deeper paths are cut at the root end */
#define JSON_ECHO_MAX   40 /* bytes of an offending value quoted in an error */

/* Out of memory inside cJSON: abort, as xmalloc does (STYLE.md, "OOM"). */
static void *json_check(void *p)
{
    if (!p) {
        abort();
    }
    return p;
}

/* ---- errors and paths ---- */

/* Appends formatted text at *len in buf[size], clamping at the end (truncation is fine). */
static void json_put(char *buf, size_t size, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void json_put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len + 1 >= size) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        *len += (size_t) n < size - *len ? (size_t) n : size - *len - 1;
    }
}

/* Copies s into buf as printable ASCII (others become '?'), cut at max bytes with "...". */
static void json_printable(const char *s, size_t max, char *buf, size_t size)
{
    size_t i = 0;

    for (; s[i] && i < max && i + 1 < size; i++) {
        unsigned char c = (unsigned char) s[i];
        buf[i] = s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            buf[i] = '?';
        }
    }
    buf[i] = '\0';
    if (s[i] && i + 4 <= size) {
        memcpy(buf + i, "...", 4);
    }
}

static void json_path_step(char *buf, size_t size, size_t *len, const char *key, size_t index)
{
    char clean[80];

    if (!key) {
        json_put(buf, size, len, "[%zu]", index);
        return;
    }
    json_printable(key, sizeof(clean) - 4, clean, sizeof(clean));
    json_put(buf, size, len, "%s%s", *len ? "." : "", clean);
}

void json_path_format(const struct json_path *at, const char *key, char *buf, size_t size)
{
    const struct json_path *steps[JSON_PATH_SHOWN];
    size_t n = 0;
    size_t len = 0;

    if (size == 0) {
        return;
    }
    buf[0] = '\0';
    for (const struct json_path *p = at; p; p = p->up) {
        if (n == JSON_PATH_SHOWN) {
            json_put(buf, size, &len, "...");
            break;
        }
        steps[n++] = p;
    }
    while (n > 0) {
        n--;
        json_path_step(buf, size, &len, steps[n]->key, steps[n]->index);
    }
    if (key) {
        json_path_step(buf, size, &len, key, 0);
    }
}

int json_error(struct errbuf *eb, const struct json_path *at, const char *key, const char *fmt, ...)
{
    char path[128];
    char msg[ERRBUF_SIZE];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_path_format(at, key, path, sizeof(path));
    if (path[0]) {
        errbuf_set(eb, "%s: %s", path, msg);
    } else {
        errbuf_set(eb, "%s", msg);
    }
    return -EINVAL;
}

int json_expect(struct errbuf *eb, const struct json_path *at, const char *key, bool ok,
                const char *expected, const char *got)
{
    char echo[JSON_ECHO_MAX + 4];

    if (ok) {
        return 0;
    }
    if (!got) {
        return json_error(eb, at, key, "expected %s", expected);
    }
    json_printable(got, JSON_ECHO_MAX, echo, sizeof(echo));
    return json_error(eb, at, key, "expected %s, got \"%s\"", expected, echo);
}

int json_check_range(struct errbuf *eb, const struct json_path *at, const char *key, uint64_t v,
                     uint64_t min, uint64_t max)
{
    if (v >= min && v <= max) {
        return 0;
    }
    return json_error(eb, at, key, "expected integer in %" PRIu64 "..%" PRIu64 ", got %" PRIu64,
                      min, max, v);
}

const char *json_type_name(const cJSON *j)
{
    if (!j) {
        return "missing";
    }
    switch (j->type & 0xff) {
    case cJSON_False:
    case cJSON_True:
        return "boolean";
    case cJSON_NULL:
        return "null";
    case cJSON_Number:
    case cJSON_Raw:
        return "number";
    case cJSON_String:
        return "string";
    case cJSON_Array:
        return "array";
    case cJSON_Object:
        return "object";
    default:
        return "invalid";
    }
}

/* ---- parsing ---- */

/* One failure of json_scan; returns -EINVAL. */
static int json_scan_error(struct errbuf *eb, size_t at, const char *what)
{
    errbuf_set(eb, "invalid JSON at byte %zu: %s", at, what);
    return -EINVAL;
}

/*
 * One byte inside a string at text[i]: returns how many bytes it takes (2 for an escape, whose
 * second byte cannot end the string), 0 at the closing quote, or -EINVAL for "\u0000".
 */
static int json_scan_string(const char *text, size_t len, size_t i, struct errbuf *eb)
{
    if (text[i] == '"') {
        return 0;
    }
    if (text[i] != '\\') {
        return 1;
    }
    if (i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0) {
        return json_scan_error(eb, i, "\\u0000 in a string");
    }
    return 2;
}

/*
 * Rejects what cJSON would let through: NUL bytes, control characters outside JSON white
 * space, raw control characters and "\u0000" inside strings, nesting beyond max_depth (cJSON
 * recurses up to 1000 levels).
 */
static int json_scan(const char *text, size_t len, size_t max_depth, struct errbuf *eb)
{
    size_t depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        bool space = c == '\t' || c == '\n' || c == '\r';

        if (c < 0x20 && (in_string || !space)) {
            return json_scan_error(eb, i, c ? "control character" : "NUL byte");
        }
        if (in_string) {
            int n = json_scan_string(text, len, i, eb);
            if (n < 0) {
                return n;
            }
            in_string = n > 0;
            i += n == 2 ? 1 : 0;
        } else if (c == '"') {
            in_string = true;
        } else if ((c == '{' || c == '[') && ++depth > max_depth) {
            return json_scan_error(eb, i, "nested too deeply");
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int json_parse(const char *text, size_t len, size_t max_depth, cJSON **ret, struct errbuf *eb)
{
    const char *end = NULL;
    cJSON *j;
    size_t off;
    int r;

    if (!text || len == 0) {
        errbuf_set(eb, "invalid JSON: empty text");
        return -EINVAL;
    }
    r = json_scan(text, len, max_depth ? max_depth : JSON_MAX_DEPTH, eb);
    if (r < 0) {
        return r;
    }
    /* Not "require_null_terminated": with a length, cJSON then insists the NUL is inside it. */
    j = cJSON_ParseWithLengthOpts(text, len, &end, false);
    off = end && end >= text ? (size_t) (end - text) : 0;
    if (!j) {
        return json_scan_error(eb, off < len ? off : len, "syntax error");
    }
    while (off < len &&
           (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r')) {
        off++;
    }
    if (off < len) {
        cJSON_Delete(j);
        return json_scan_error(eb, off, "trailing characters after the value");
    }
    *ret = j;
    return 0;
}

int json_parse_object(const char *text, size_t len, size_t max_depth, cJSON **ret,
                      struct errbuf *eb)
{
    cJSON *j = NULL;
    int r = json_parse(text, len, max_depth, &j, eb);

    if (r < 0) {
        return r;
    }
    if (!cJSON_IsObject(j)) {
        errbuf_set(eb, "expected a JSON object, got %s", json_type_name(j));
        cJSON_Delete(j);
        return -EINVAL;
    }
    *ret = j;
    return 0;
}

/* ---- getters ---- */

/* The member key of obj (obj itself when key is NULL); NULL when absent or null. */
static const cJSON *json_member(const cJSON *obj, const char *key)
{
    const cJSON *v = obj;

    if (key) {
        v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    }
    return cJSON_IsNull(v) ? NULL : v;
}

bool json_has(const cJSON *obj, const char *key)
{
    return key && json_member(obj, key) != NULL;
}

/* The string value at obj/key, or an error naming what was expected instead. */
static int json_string(const cJSON *obj, const struct json_path *at, const char *key,
                       const char *expected, const char **ret, struct errbuf *eb)
{
    const cJSON *v = json_member(obj, key);

    if (!v) {
        return json_error(eb, at, key, "missing");
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        return json_error(eb, at, key, "expected %s, got %s", expected, json_type_name(v));
    }
    *ret = v->valuestring;
    return 0;
}

int json_get_str(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                 char *buf, size_t size, struct errbuf *eb)
{
    const char *s = NULL;
    size_t n;
    int r;

    if (!required && !json_member(obj, key)) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    r = json_string(obj, at, key, "string", &s, eb);
    if (r < 0) {
        return r;
    }
    n = strlen(s);
    if (n >= size) {
        return json_error(eb, at, key, "expected string of at most %zu bytes, got %zu",
                          size ? size - 1 : 0, n);
    }
    memcpy(buf, s, n + 1);
    return 0;
}

int json_get_u64(const cJSON *obj, const struct json_path *at, const char *key, uint64_t min,
                 uint64_t max, uint64_t *ret, struct errbuf *eb)
{
    const cJSON *v = json_member(obj, key);
    double d;
    uint64_t u;

    if (max > JSON_INT_MAX) {
        max = JSON_INT_MAX;
    }
    if (!v) {
        return json_error(eb, at, key, "missing");
    }
    if (!cJSON_IsNumber(v)) {
        return json_error(eb, at, key, "expected integer in %" PRIu64 "..%" PRIu64 ", got %s", min,
                          max, json_type_name(v));
    }
    d = v->valuedouble;
    /* NaN fails the first test; the cast is defined once d is known to be in range. */
    if (!(d >= 0.0) || d > (double) JSON_INT_MAX || d != (double) (uint64_t) d) {
        return json_error(eb, at, key, "expected integer in %" PRIu64 "..%" PRIu64 ", got %.17g",
                          min, max, d);
    }
    u = (uint64_t) d;
    if (json_check_range(eb, at, key, u, min, max) < 0) {
        return -EINVAL;
    }
    *ret = u;
    return 0;
}

int json_get_u32(const cJSON *obj, const struct json_path *at, const char *key, uint32_t min,
                 uint32_t max, uint32_t *ret, struct errbuf *eb)
{
    uint64_t v = 0;
    int r = json_get_u64(obj, at, key, min, max, &v, eb);

    if (r < 0) {
        return r;
    }
    *ret = (uint32_t) v;
    return 0;
}

int json_get_u64_text(const cJSON *obj, const struct json_path *at, const char *key, uint64_t *ret,
                      struct errbuf *eb)
{
    const char *expected = "unsigned 64-bit integer as decimal text";
    const char *s = NULL;
    uint64_t v = 0;
    int r = json_string(obj, at, key, expected, &s, eb);

    if (r < 0) {
        return r;
    }
    if (str_to_u64(s, 0, UINT64_MAX, &v) < 0) {
        return json_expect(eb, at, key, false, expected, s);
    }
    *ret = v;
    return 0;
}

int json_get_bool(const cJSON *obj, const struct json_path *at, const char *key, bool *ret,
                  struct errbuf *eb)
{
    const cJSON *v = json_member(obj, key);

    if (!v) {
        return json_error(eb, at, key, "missing");
    }
    if (!cJSON_IsBool(v)) {
        return json_error(eb, at, key, "expected boolean, got %s", json_type_name(v));
    }
    *ret = cJSON_IsTrue(v);
    return 0;
}

int json_get_lsn(const cJSON *obj, const struct json_path *at, const char *key, uint64_t *ret,
                 struct errbuf *eb)
{
    const char *s = NULL;
    uint64_t lsn = 0;
    int r = json_string(obj, at, key, "LSN text \"X/Y\"", &s, eb);

    if (r < 0) {
        return r;
    }
    if (str_parse_lsn(s, &lsn) < 0) {
        return json_expect(eb, at, key, false, "LSN text \"X/Y\"", s);
    }
    *ret = lsn;
    return 0;
}

int json_get_enum(const cJSON *obj, const struct json_path *at, const char *key,
                  const struct json_enum *e, int *ret, struct errbuf *eb)
{
    char names[160];
    char echo[JSON_ECHO_MAX + 4];
    const char *s = NULL;
    size_t len = 0;
    int r;

    names[0] = '\0';
    for (int v = e->first; v < e->end; v++) {
        json_put(names, sizeof(names), &len, "%s%s", v > e->first ? "|" : "", e->name(v));
    }
    r = json_string(obj, at, key, names, &s, eb);
    if (r < 0) {
        return r;
    }
    for (int v = e->first; v < e->end; v++) {
        if (strcmp(s, e->name(v)) == 0) {
            *ret = v;
            return 0;
        }
    }
    json_printable(s, JSON_ECHO_MAX, echo, sizeof(echo));
    return json_error(eb, at, key, "expected one of %s, got \"%s\"", names, echo);
}

int json_get_array(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                   size_t max, const cJSON **ret, struct errbuf *eb)
{
    const cJSON *v = json_member(obj, key);
    const cJSON *item;
    size_t n = 0;

    if (!v) {
        if (required) {
            return json_error(eb, at, key, "missing");
        }
        *ret = NULL;
        return 0;
    }
    if (!cJSON_IsArray(v)) {
        return json_error(eb, at, key, "expected array, got %s", json_type_name(v));
    }
    cJSON_ArrayForEach(item, v)
    {
        n++;
    }
    if (n > max || n > INT32_MAX) {
        return json_error(eb, at, key, "expected at most %zu elements, got %zu", max, n);
    }
    *ret = v;
    return (int) n;
}

int json_get_object(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                    const cJSON **ret, struct errbuf *eb)
{
    const cJSON *v = json_member(obj, key);

    if (!v) {
        if (required) {
            return json_error(eb, at, key, "missing");
        }
        *ret = NULL;
        return 0;
    }
    if (!cJSON_IsObject(v)) {
        return json_error(eb, at, key, "expected object, got %s", json_type_name(v));
    }
    *ret = v;
    return 0;
}

/* ---- text ---- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, no overlongs or surrogates), or 0. */
static size_t json_utf8_len(const unsigned char *s)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* Length of the good text unit at s (one character), or 0 for a control or invalid byte. */
static size_t json_text_unit(const unsigned char *s)
{
    if (s[0] < 0x20 || s[0] == 0x7f) {
        return 0;
    }
    return json_utf8_len(s);
}

bool json_is_text(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    if (!s) {
        return false;
    }
    while (*p) {
        size_t n = json_text_unit(p);
        if (n == 0) {
            return false;
        }
        p += n;
    }
    return true;
}

void json_text_sanitize(char *s)
{
    unsigned char *p = (unsigned char *) s;

    if (!s) {
        return;
    }
    while (*p) {
        size_t n = json_text_unit(p);
        if (n == 0) {
            *p = '?';
            n = 1;
        }
        p += n;
    }
}

/* ---- builders ---- */

/* Adds item under key to obj, or appends it to the array obj when key is NULL. */
static cJSON *json_attach(cJSON *obj, const char *key, cJSON *item)
{
    cJSON_bool ok;

    (void) json_check(item);
    ok = key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item);
    if (!ok) {
        abort(); /* the key copy failed, or obj is not a container: both are fatal */
    }
    return item;
}

cJSON *json_new_object(void)
{
    return json_check(cJSON_CreateObject());
}

cJSON *json_add_object(cJSON *obj, const char *key)
{
    return json_attach(obj, key, cJSON_CreateObject());
}

cJSON *json_add_array(cJSON *obj, const char *key)
{
    return json_attach(obj, key, cJSON_CreateArray());
}

void json_add_str(cJSON *obj, const char *key, const char *s)
{
    (void) json_attach(obj, key, cJSON_CreateString(s ? s : ""));
}

void json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
    char digits[24];

    (void) snprintf(digits, sizeof(digits), "%" PRIu64, v);
    if (v > JSON_INT_MAX) {
        (void) json_attach(obj, key, cJSON_CreateString(digits));
        return;
    }
    (void) json_attach(obj, key, cJSON_CreateRaw(digits));
}

void json_add_u64_text(cJSON *obj, const char *key, uint64_t v)
{
    char digits[24];

    (void) snprintf(digits, sizeof(digits), "%" PRIu64, v);
    (void) json_attach(obj, key, cJSON_CreateString(digits));
}

void json_add_lsn(cJSON *obj, const char *key, uint64_t lsn)
{
    char text[24];

    str_format_lsn(lsn, text, sizeof(text));
    (void) json_attach(obj, key, cJSON_CreateString(text));
}

void json_add_bool(cJSON *obj, const char *key, bool v)
{
    (void) json_attach(obj, key, cJSON_CreateBool(v));
}

void json_add_null(cJSON *obj, const char *key)
{
    (void) json_attach(obj, key, cJSON_CreateNull());
}

char *json_print(const cJSON *j)
{
    return json_check(cJSON_PrintUnformatted(j));
}
