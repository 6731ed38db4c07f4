/* uuid.h — request ids: parsing any RFC 4122 textual UUID form into canonical lower-case form,
 * and generating time-ordered UUIDv7 for new log ids. */
#ifndef GW_UUID_H
#define GW_UUID_H

#include <stddef.h>
#include <glib.h>

#define GW_UUID_STR_LEN 36

/* Accepts, case-insensitively: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", the same in braces
 * "{…}", with a "urn:uuid:" prefix, or as 32 hex digits without hyphens. Surrounding whitespace
 * is not accepted. On success writes the canonical lower-case hyphenated form to out. */
gboolean gw_uuid_parse(const char *s, size_t len, char out[GW_UUID_STR_LEN + 1]);

/* A new UUIDv7 (48-bit Unix ms timestamp, random rest) in canonical form. Thread-safe. */
void gw_uuid_v7(char out[GW_UUID_STR_LEN + 1]);

#endif
