/* cache_key.c — canonical JSON and SHA-256 cache keys (GLib's GChecksum).
 *
 * Every field goes into the hash as an 8-byte length (or an absent marker) followed by its
 * bytes, so no two different field lists can produce the same byte stream ("ab"+"c" vs
 * "a"+"bc"). A version tag leads, so a future change of the derivation starts a new key space. */
#include "config.h"
#include "cache_key.h"

#include <string.h>

#define KEY_VERSION "alephant-cache-key-v1"
#define GROUP_VERSION "alephant-cache-semantic-v1"

char *gw_cache_canonical_json(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void put_field(GChecksum *c, const void *data, gsize len, gboolean present)
{
    guint8 hdr[9];
    hdr[0] = present ? 1 : 0;
    guint64 n = present ? (guint64)len : 0;
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (guint8)(n >> (8 * i));
    g_checksum_update(c, hdr, sizeof hdr);
    if (present && len > 0)
        g_checksum_update(c, data, (gssize)len);
}

static void put_str(GChecksum *c, const char *s)
{
    put_field(c, s, s != NULL ? strlen(s) : 0, s != NULL);
}

static void finish_hex(GChecksum *c, char out[GW_CACHE_KEY_HEX_LEN + 1])
{
    g_strlcpy(out, g_checksum_get_string(c), GW_CACHE_KEY_HEX_LEN + 1);
    g_checksum_free(c);
}

/* The fields shared by the exact key and the semantic group. */
static void put_common(GChecksum *c, const GwCacheKeyInput *in)
{
    put_str(c, in->scope);
    put_str(c, in->seed);
    put_str(c, in->method);
    put_str(c, in->path_query);
    put_str(c, in->stream ? "stream" : "whole");
}

void gw_cache_key(const GwCacheKeyInput *in, int bucket, char out[GW_CACHE_KEY_HEX_LEN + 1])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    put_str(c, KEY_VERSION);
    put_common(c, in);
    if (in->body != NULL) {
        char *canon = gw_cache_canonical_json(in->body);
        put_str(c, "json");
        put_str(c, canon);
        free(canon);
    } else {
        put_str(c, "raw");
        put_field(c, in->raw_body, in->raw_len, TRUE);
    }
    char idx[16];
    g_snprintf(idx, sizeof idx, "%d", bucket);
    put_str(c, idx);
    finish_hex(c, out);
}

void gw_cache_seed_hash(const char *seed, char out[GW_CACHE_KEY_HEX_LEN + 1])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    put_str(c, "alephant-cache-seed-v1");
    put_str(c, seed);
    finish_hex(c, out);
}

void gw_cache_semantic_group(const GwCacheKeyInput *in, const char *emb_model,
                             char out[GW_CACHE_KEY_HEX_LEN + 1])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    put_str(c, GROUP_VERSION);
    put_common(c, in);
    put_str(c, emb_model);
    if (json_is_object(in->body)) {
        json_t *rest = json_copy(in->body); /* shallow: only the top-level "messages" goes */
        json_object_del(rest, "messages");
        json_object_del(rest, "system");
        char *canon = gw_cache_canonical_json(rest);
        put_str(c, canon);
        free(canon);
        json_decref(rest);
    } else {
        put_str(c, NULL);
    }
    finish_hex(c, out);
}

static void append_content(GString *s, json_t *content)
{
    if (json_is_string(content)) {
        g_string_append_len(s, json_string_value(content), (gssize)json_string_length(content));
    } else if (content != NULL && !json_is_null(content)) {
        char *canon = gw_cache_canonical_json(content);
        if (canon != NULL)
            g_string_append(s, canon);
        free(canon);
    }
}

char *gw_cache_prompt_text(json_t *body)
{
    if (!json_is_object(body))
        return NULL;
    GString *s = g_string_new(NULL);
    gboolean any = FALSE;
    json_t *system = json_object_get(body, "system");
    if (system != NULL) {
        g_string_append(s, "system: ");
        append_content(s, system);
        g_string_append_c(s, '\n');
        any = TRUE;
    }
    json_t *messages = json_object_get(body, "messages");
    if (json_is_array(messages)) {
        size_t i;
        json_t *m;
        json_array_foreach(messages, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            g_string_append(s, role != NULL ? role : "?");
            g_string_append(s, ": ");
            append_content(s, json_object_get(m, "content"));
            /* Tool calls are part of what the model was asked. */
            json_t *tc = json_object_get(m, "tool_calls");
            if (tc != NULL) {
                g_string_append(s, " tool_calls: ");
                append_content(s, tc);
            }
            g_string_append_c(s, '\n');
            any = TRUE;
        }
    } else {
        const char *fields[] = {"prompt", "input"};
        for (guint k = 0; k < G_N_ELEMENTS(fields) && !any; k++) {
            json_t *v = json_object_get(body, fields[k]);
            if (v != NULL) {
                append_content(s, v);
                any = TRUE;
            }
        }
    }
    if (!any) {
        g_string_free(s, TRUE);
        return NULL;
    }
    return g_string_free(s, FALSE);
}
