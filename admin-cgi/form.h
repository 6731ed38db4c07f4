/* form.h — what browsers and API clients send, parsed: percent-decoding, query strings and
 * application/x-www-form-urlencoded bodies, and Cookie headers. Pure functions (unit-tested). */
#ifndef ADM_FORM_H
#define ADM_FORM_H

#include <glib.h>
#include "status.h"

/* Fields of one query string or form body at most; more is GW_ETOOBIG. */
#define ADM_FORM_MAX_FIELDS 200

/* Percent-decodes len bytes of s ('+' becomes a space when plus_is_space). NULL when a %
 * escape is malformed, the result contains NUL or is not valid UTF-8. Caller frees. */
char *adm_url_decode(const char *s, gsize len, gboolean plus_is_space);

/* "a=1&b=x+y" → a new table name → value (both owned by it). The first of repeated names wins;
 * a field without '=' has the value "". GW_EINVAL on bad encoding, GW_ETOOBIG past
 * ADM_FORM_MAX_FIELDS fields. data may be NULL (empty table). */
GwStatus adm_form_parse(const char *data, gsize len, GHashTable **out, GError **err);

/* A Cookie header ("a=1; b=2") → a new table name → value; malformed pairs are skipped and the
 * first of repeated names wins. header may be NULL. */
GHashTable *adm_cookies_parse(const char *header);

#endif
