/* cache_store.h — the response cache's storage: its own SQLite file ($ALEPHANT_HOME/cache.db, so
 * cache writes never contend with log writes) with its own small schema applied at open, entries
 * keyed by their exact cache key (cache_key.h), optional float32 vectors for semantic lookups,
 * expiry, a size cap with least-recently-used eviction, and purging by scope or seed.
 * One GwCacheStore per thread. Times are Unix ms passed in by the caller (tests inject a clock). */
#ifndef GW_CACHE_STORE_H
#define GW_CACHE_STORE_H

#include <glib.h>
#include "status.h"

typedef struct GwCacheStore GwCacheStore;

typedef struct {
    gint64 id;                   /* row id (filled by get) */
    char key[65];                /* hex SHA-256, bucket included */
    char *scope;                 /* "vk:12", "agent:3", "department:5" */
    char seed_hash[65];          /* gw_cache_seed_hash of the seed */
    int bucket;                  /* slot index, 0-based */
    char source_request_id[37];  /* log id of the request whose answer this is */
    gint64 created_at;
    gint64 expires_at;
    int status;                  /* HTTP status of the answer (2xx) */
    char *content_type;
    gboolean stream;             /* body is SSE events, replayed one by one */
    GBytes *body;
    char *model;                 /* model of the original request (for the log) */
    gint64 prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens;
    gint64 cost_nanos;           /* cost of the original call, -1 = unknown */
    char *sem_group;             /* semantic group, NULL for exact-only entries */
    float *vector;               /* unit vector of the prompt, NULL when none (owned) */
    gsize dims;
} GwCacheEntry;

GwCacheEntry *gw_cache_entry_new(void);  /* token counts and cost -1 */
void gw_cache_entry_free(GwCacheEntry *e);

/* Opens (creating) the database at path: WAL, a short busy timeout (a busy cache is a miss, not
 * a wait), and the schema. */
GwStatus gw_cache_store_open(const char *path, GwCacheStore **out, GError **err);
void gw_cache_store_close(GwCacheStore *st);

/* The live entry with that key: GW_ENOTFOUND when absent or expired at now_ms (an expired entry
 * is removed). Marks it used (for LRU). *out is the caller's. */
GwStatus gw_cache_store_get(GwCacheStore *st, const char *key, gint64 now_ms, GwCacheEntry **out,
                            GError **err);
/* The same by row id (a semantic match). */
GwStatus gw_cache_store_get_by_id(GwCacheStore *st, gint64 id, gint64 now_ms, GwCacheEntry **out,
                                  GError **err);
/* Saves e under e->key (replacing an entry with the same key), then removes expired entries and,
 * while the stored bytes exceed max_bytes or the vectors exceed max_vectors (0 = no limit), the
 * least recently used entries. */
GwStatus gw_cache_store_put(GwCacheStore *st, const GwCacheEntry *e, gint64 now_ms,
                            gint64 max_bytes, gint64 max_vectors, GError **err);

/* Saves e into the first free slot of a bucketed request, atomically: keys[i] is the key of
 * slot i (0-based). Inside one write transaction each slot is tried in order with an INSERT
 * that fails on a live entry of that key (an expired one is removed first), so concurrent
 * savers of the same request never overwrite each other: each gets its own slot, and when all
 * are filled nothing is saved (GW_EEXISTS). e->key and e->bucket are ignored; *slot gets the
 * slot used (-1 on failure). Then evicts as gw_cache_store_put does. */
GwStatus gw_cache_store_put_free_slot(GwCacheStore *st, const GwCacheEntry *e,
                                      const char *const *keys, int nkeys, gint64 now_ms,
                                      gint64 max_bytes, gint64 max_vectors, int *slot,
                                      GError **err);

/* Calls fn for every live vector of group with a row id above after_id, in id order. */
typedef void (*GwCacheVectorFn)(gint64 id, const float *v, gsize dims, gpointer ud);
GwStatus gw_cache_store_vectors(GwCacheStore *st, const char *group, gint64 after_id,
                                gint64 now_ms, GwCacheVectorFn fn, gpointer ud, GError **err);

/* The vector of live entry id in group (dims floats) into out, read by its primary key: what a
 * semantic search re-ranks. GW_ENOTFOUND when that entry is gone, expired, of another group or
 * of another size (out is then untouched). */
GwStatus gw_cache_store_vector_get(GwCacheStore *st, gint64 id, const char *group, gint64 now_ms,
                                   float *out, gsize dims, GError **err);

/* The largest row id of the group's vectors (expired or not) in *id, 0 when it has none: an
 * index read from its primary key, so callers can tell cheaply whether anything is new. */
GwStatus gw_cache_store_last_vector_id(GwCacheStore *st, const char *group, gint64 *id,
                                       GError **err);

/* Deletes the entries of scope (NULL = every scope) with seed hash seed_hash (NULL = any seed);
 * *deleted (may be NULL) gets how many. */
GwStatus gw_cache_store_purge(GwCacheStore *st, const char *scope, const char *seed_hash,
                              gint64 *deleted, GError **err);
/* Number of entries, of them with vectors, and stored bytes. */
GwStatus gw_cache_store_stats(GwCacheStore *st, gint64 *entries, gint64 *vectors, gint64 *bytes,
                              GError **err);

#endif
