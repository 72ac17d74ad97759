/*
 * common/str.h
 *
 * Checked string conversions and copies, and the name rules of Kubernetes (DNS-1123).
 * Never atoi/strtol directly (STYLE.md): every number from outside goes through here.
 */
#ifndef OG_COMMON_STR_H
#define OG_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STR_DNS_LABEL_MAX     63
#define STR_DNS_SUBDOMAIN_MAX 253

/* Parses a whole decimal string into [min, max]; 0, -EINVAL (not a number) or -ERANGE. */
int str_to_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
/* As str_to_u32 for 64-bit values. */
int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Signed 64-bit form; 0, -EINVAL or -ERANGE. */
int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *ret);
/*
 * Parses a duration: a plain number of milliseconds or a number with a unit ms, s, m, h
 * ("500ms", "5s", "2m"); 0, -EINVAL or -ERANGE.
 */
int str_to_ms(const char *s, uint64_t *ret_ms);
/* Parses "true/false/yes/no/on/off/1/0"; 0 or -EINVAL. */
int str_to_bool(const char *s, bool *ret);

/* Copies src into dst[size] always terminated; 0, or -ENAMETOOLONG when src did not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* True when s is non-NULL and empty. NULL counts as empty too. */
bool str_is_empty(const char *s);
/* True when a and b are equal strings; NULL equals only NULL. */
bool str_eq(const char *a, const char *b);
/* True when s starts with prefix. */
bool str_has_prefix(const char *s, const char *prefix);

/* RFC 1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends (namespaces, member names). */
bool str_is_dns_label(const char *s);
/* RFC 1123 subdomain: dot-separated labels, at most 253 characters (object and node names). */
bool str_is_dns_subdomain(const char *s);

/* Formats an LSN as PostgreSQL does ("16/B374D848"); buf needs 18 bytes. */
void str_format_lsn(uint64_t lsn, char *buf, size_t size);
/* Parses "X/Y" hexadecimal LSN text; 0 or -EINVAL. */
int str_parse_lsn(const char *s, uint64_t *ret_lsn);

#endif
