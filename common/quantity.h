/*
 * common/quantity.h
 *
 * Kubernetes resource quantities ("3Gi", "500m", "1.5G", "2e3"), as the original operator's
 * spec writes cpu, memory, storage and bandwidth (k8s.io/apimachinery resource.Quantity):
 * an unsigned decimal number (digits, an optional fraction) and one optional suffix, either
 * binary (Ki Mi Gi Ti Pi Ei), decimal SI (n u m k M G T P E) or an exponent (e3, E-2).
 * No sign (a negative size or cpu makes no sense here), no blanks, at most 18 significant
 * digits. Values are exact: integer arithmetic only, rounded up where a fraction remains.
 */
#ifndef OG_COMMON_QUANTITY_H
#define OG_COMMON_QUANTITY_H

#include <stdint.h>

/*
 * Parses s into thousandths of its unit ("500m" -> 500, "1" -> 1000, "1Ki" -> 1024000),
 * rounding up. 0; -EINVAL (not a quantity); -ERANGE (above UINT64_MAX thousandths).
 * *ret_milli is written only on success.
 */
int quantity_parse_milli(const char *s, uint64_t *ret_milli);

/*
 * Parses s into whole units, rounding up ("3Gi" -> 3221225472, "1.5k" -> 1500, "100m" -> 1):
 * for storage and memory sizes in bytes. 0, -EINVAL or -ERANGE; *ret written on success only.
 */
int quantity_parse_bytes(const char *s, uint64_t *ret);

#endif
