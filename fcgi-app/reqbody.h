/* reqbody.h — validation of a client's JSON request body: strict parsing (no duplicate keys,
 * valid UTF-8, bounded depth) and the few fields the gateway reads (model, stream, max_tokens). */
#ifndef GW_REQBODY_H
#define GW_REQBODY_H

#include <stddef.h>
#include <jansson.h>
#include "status.h"

typedef struct {
    json_t *root;         /* the parsed body (new reference owned by this struct), an object */
    const char *model;    /* borrowed from root, NULL when absent */
    gboolean stream;      /* "stream": true */
    gint64 max_tokens;    /* -1 when absent; from max_tokens or max_completion_tokens */
} GwReqBody;

/* Parses and checks a JSON body. Errors (GW_EINVAL, message safe to show the client):
 * not valid JSON / not an object, duplicate keys, nesting deeper than 64, "model" present but
 * not a non-empty string (≤ 256 bytes), "stream" not a boolean, max_tokens / max_completion_tokens
 * not an integer in [1, 2^31-1]. null is accepted as "absent" for stream and the token limits
 * (SDKs send null for parameters not given). On success fills *out (free with gw_reqbody_clear). */
GwStatus gw_reqbody_parse(const char *body, size_t len, GwReqBody *out, GError **err);
void gw_reqbody_clear(GwReqBody *b);

#endif
