/* cache_key.h — what identifies a cached answer: canonical JSON (key order and whitespace do not
 * matter), the SHA-256 cache key over scope, seed, method, path, body and bucket index, the
 * semantic group of a request (everything but its messages) and the canonical prompt text a
 * semantic lookup embeds. Pure functions, no I/O. */
#ifndef GW_CACHE_KEY_H
#define GW_CACHE_KEY_H

#include <glib.h>
#include <jansson.h>

#define GW_CACHE_KEY_HEX_LEN 64

/* What an exact cache key is derived from. Strings may be NULL (treated as absent, which is
 * distinct from ""). body is the request's JSON (canonicalised) or, when NULL, raw_body bytes. */
typedef struct {
    const char *scope;         /* "vk:12", "agent:3", "department:5": never empty */
    const char *seed;          /* Alephant-Cache-Seed, NULL = none */
    const char *method;
    const char *path_query;
    gboolean stream;           /* a stream answer never serves a non-stream request */
    json_t *body;              /* parsed JSON body or NULL */
    const void *raw_body;      /* used when body is NULL */
    gsize raw_len;
} GwCacheKeyInput;

/* Canonical text of j: compact, object keys sorted, any JSON value. Caller frees with free(). */
char *gw_cache_canonical_json(json_t *j);

/* Hex SHA-256 key of in for bucket slot bucket (0-based) into out (65 bytes, NUL-terminated). */
void gw_cache_key(const GwCacheKeyInput *in, int bucket, char out[GW_CACHE_KEY_HEX_LEN + 1]);

/* Hex SHA-256 of a seed as stored with entries (NULL seed → the hash of the absent marker), so an
 * operator can purge a seed without the cache keeping the client's text. */
void gw_cache_seed_hash(const char *seed, char out[GW_CACHE_KEY_HEX_LEN + 1]);

/* The semantic group of a request: scope, seed, embeddings model, method, path, stream flag and
 * the canonical body without "messages" (the non-message parameters: model, temperature, …).
 * Only entries of the same group are compared. */
void gw_cache_semantic_group(const GwCacheKeyInput *in, const char *emb_model,
                             char out[GW_CACHE_KEY_HEX_LEN + 1]);

/* The canonical prompt text of a chat body: one "role: content" line block per message (a
 * string content as it is, structured content as canonical JSON), preceded by a top-level
 * "system" (Anthropic) when present; for bodies without messages, "prompt" or "input".
 * NULL when the body has none of these. Caller frees with g_free. */
char *gw_cache_prompt_text(json_t *body);

#endif
