/*
 * common/json.h
 *
 * Typed getters and builders over cJSON 1.7.15, with errors that name the JSON path and what
 * was expected: "instances[2].lsn.received: expected LSN text "X/Y", got "zz"",
 * "port: expected integer in 1..65535, got 70000", "node: missing".
 *
 * Numbers (decided here, once, for every message we exchange):
 *  - Counters, sizes and durations are JSON numbers in 0..JSON_INT_MAX (2^53 - 1, the largest
 *    integer every JSON implementation holds exactly). A larger number is ambiguous and
 *    rejected, as are fractions (1.5) and negatives.
 *  - 64-bit identifiers that use the full range (system_id) are decimal strings
 *    ("7301234567890123456"): json_add_u64_text / json_get_u64_text.
 *  - LSNs are PostgreSQL's text "X/Y" (json_add_lsn / json_get_lsn).
 *
 * Getters take the object, the path of that object (`at`, NULL for the document root) and the
 * member's key; a NULL key means "obj is itself the value" (an array element). Paths are
 * chains of struct json_path on the caller's stack, so nested errors cost no allocation.
 * Every getter returns 0 or -EINVAL with eb filled, and writes its ret_* only on success.
 * Members are looked up case-sensitively; JSON null counts as missing.
 *
 * cJSON allocates with the default malloc hooks (STYLE.md: MHD frees printed text with
 * free()). The builders abort on out-of-memory like xmalloc.
 */
#ifndef OG_COMMON_JSON_H
#define OG_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define JSON_INT_MAX   9007199254740991ULL /* 2^53 - 1 */
#define JSON_MAX_DEPTH 64                  /* default nesting limit of json_parse */

/* One step of a path: a member `key`, or the element `index` of an array when key is NULL. */
struct json_path {
    const struct json_path *up; /* NULL at the document root */
    const char *key;
    size_t index;
};

/* Names value v of an enum (its *_to_string, adapted to int). */
typedef const char *(*json_enum_name_fn)(int v);

/* The accepted values first..end-1 of an enum and their wire names. */
struct json_enum {
    json_enum_name_fn name;
    int first;
    int end;
};

/*
 * Parses text[0..len) (no terminator needed) into a new tree owned by the caller
 * (cJSON_Delete). Stricter than cJSON: rejects trailing garbage, NUL bytes, raw control
 * characters and "\u0000" inside strings, and nesting deeper than max_depth (0 means
 * JSON_MAX_DEPTH). Errors name the byte offset. 0 or -EINVAL.
 */
int json_parse(const char *text, size_t len, size_t max_depth, cJSON **ret, struct errbuf *eb);
/* As json_parse, and the top-level value must be an object. */
int json_parse_object(const char *text, size_t len, size_t max_depth, cJSON **ret,
                      struct errbuf *eb);

/* Writes "a.b[2].c" for path `at` followed by key (either may be NULL) into buf. */
void json_path_format(const struct json_path *at, const char *key, char *buf, size_t size);
/* Sets eb to "<path>: <message>" for the member key of at; always returns -EINVAL. */
int json_error(struct errbuf *eb, const struct json_path *at, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/*
 * Validation of decoded values, with the same wording as the getters: when ok is false, sets
 * eb to "<path>: expected <expected>, got "<got>"" (got printed as printable ASCII, cut at 40
 * bytes; pass NULL for secrets to leave it out) and returns -EINVAL; else returns 0.
 */
int json_expect(struct errbuf *eb, const struct json_path *at, const char *key, bool ok,
                const char *expected, const char *got);
/* 0 when min <= v <= max, else -EINVAL with "<path>: expected integer in min..max, got v". */
int json_check_range(struct errbuf *eb, const struct json_path *at, const char *key, uint64_t v,
                     uint64_t min, uint64_t max);
/* JSON's name of j's type: "string", "number", "object", ... ("missing" for NULL). */
const char *json_type_name(const cJSON *j);

/* True when obj has member key and it is not null. */
bool json_has(const cJSON *obj, const char *key);

/*
 * String member into buf[size]. Missing or null: error when required, else buf = "". Longer
 * than size - 1 bytes: error.
 */
int json_get_str(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                 char *buf, size_t size, struct errbuf *eb);
/* Required integral number in min..max (max above JSON_INT_MAX acts as JSON_INT_MAX). */
int json_get_u64(const cJSON *obj, const struct json_path *at, const char *key, uint64_t min,
                 uint64_t max, uint64_t *ret, struct errbuf *eb);
/* As json_get_u64 for 32-bit fields. */
int json_get_u32(const cJSON *obj, const struct json_path *at, const char *key, uint32_t min,
                 uint32_t max, uint32_t *ret, struct errbuf *eb);
/* Required unsigned 64-bit integer written as a decimal string, full range. */
int json_get_u64_text(const cJSON *obj, const struct json_path *at, const char *key, uint64_t *ret,
                      struct errbuf *eb);
/* Required true or false. */
int json_get_bool(const cJSON *obj, const struct json_path *at, const char *key, bool *ret,
                  struct errbuf *eb);
/* Required LSN text "X/Y" (hexadecimal halves). */
int json_get_lsn(const cJSON *obj, const struct json_path *at, const char *key, uint64_t *ret,
                 struct errbuf *eb);
/* Required string naming one of e's values; the error lists the accepted names. */
int json_get_enum(const cJSON *obj, const struct json_path *at, const char *key,
                  const struct json_enum *e, int *ret, struct errbuf *eb);
/*
 * Array member with at most max elements: returns the count (>= 0) and the array in *ret
 * (borrowed from obj), or -EINVAL. Missing or null and not required: returns 0, *ret = NULL.
 */
int json_get_array(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                   size_t max, const cJSON **ret, struct errbuf *eb);
/* Object member into *ret (borrowed). Missing or null and not required: 0 with *ret = NULL. */
int json_get_object(const cJSON *obj, const struct json_path *at, const char *key, bool required,
                    const cJSON **ret, struct errbuf *eb);

/* True when s is valid UTF-8 with no control characters (C0 or DEL): safe free text. */
bool json_is_text(const char *s);
/* Replaces control characters and bytes of invalid UTF-8 in s with '?', in place. */
void json_text_sanitize(char *s);

/* A new empty object, owned by the caller (cJSON_Delete). */
cJSON *json_new_object(void);
/*
 * Builders. Each adds member key to the object obj, or appends to the array obj when key is
 * NULL, and returns nothing (or the new container, borrowed from obj).
 */
cJSON *json_add_object(cJSON *obj, const char *key);
cJSON *json_add_array(cJSON *obj, const char *key);
/* A string; NULL adds "". */
void json_add_str(cJSON *obj, const char *key, const char *s);
/*
 * An unsigned integer as a JSON number, written digit for digit (cJSON 1.7.15 prints numbers
 * from 1e15 up with 15 significant digits, so this uses a raw item: the tree is for printing).
 * A value above JSON_INT_MAX, which no reader can hold exactly, is written as a decimal string
 * instead, so that a bounded json_get_u64 rejects it loudly rather than rounding it.
 */
void json_add_u64(cJSON *obj, const char *key, uint64_t v);
/* An unsigned 64-bit integer as a decimal string (read back with json_get_u64_text). */
void json_add_u64_text(cJSON *obj, const char *key, uint64_t v);
/* An LSN as "X/Y" text. */
void json_add_lsn(cJSON *obj, const char *key, uint64_t lsn);
void json_add_bool(cJSON *obj, const char *key, bool v);
void json_add_null(cJSON *obj, const char *key);

/* Unformatted text of j, owned by the caller (free()). Never NULL. */
char *json_print(const cJSON *j);

#endif
