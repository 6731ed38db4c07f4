/* cache_store.c — SQLite storage of the response cache (cache_store.h).
 *
 * - One table of entries; the exact key is unique; semantic entries carry a group and a float32
 *   blob (native byte order: the file is local to the machine that wrote it).
 * - Stored bytes and vector counts are kept in cache_meta by triggers, so the size cap is
 *   checked without scanning the table.
 * - Every statement is a constant string prepared once per connection and bound with ?
 *   parameters; the schema is a list of single statements run at open. */
#include "config.h"
#include "cache_store.h"

#include <string.h>
#include <sqlite3.h>

#define CACHE_BUSY_TIMEOUT_MS 250
#define EVICT_BATCH 64
#define EVICT_ROUNDS_MAX 1000

static const char *const schema[] = {
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "CREATE TABLE IF NOT EXISTS cache_entries ("
    " id INTEGER PRIMARY KEY,"
    " key TEXT NOT NULL UNIQUE,"
    " scope TEXT NOT NULL,"
    " seed_hash TEXT NOT NULL,"
    " bucket INTEGER NOT NULL,"
    " source_request_id TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " last_used_at INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " content_type TEXT,"
    " stream INTEGER NOT NULL,"
    " body BLOB NOT NULL,"
    " model TEXT,"
    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
    " cached_tokens INTEGER, reasoning_tokens INTEGER, cost_nanos INTEGER,"
    " sem_group TEXT,"
    " vector BLOB,"
    " size INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cache_entries_lru ON cache_entries (last_used_at, id)",
    "CREATE INDEX IF NOT EXISTS cache_entries_expiry ON cache_entries (expires_at)",
    "CREATE INDEX IF NOT EXISTS cache_entries_scope ON cache_entries (scope, seed_hash)",
    "CREATE INDEX IF NOT EXISTS cache_entries_seed ON cache_entries (seed_hash)",
    "CREATE INDEX IF NOT EXISTS cache_entries_sem ON cache_entries (sem_group, id) "
    "WHERE sem_group IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS cache_entries_sem_lru ON cache_entries (last_used_at, id) "
    "WHERE vector IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS cache_meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " bytes INTEGER NOT NULL, entries INTEGER NOT NULL, vectors INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO cache_meta (id, bytes, entries, vectors) VALUES (1, 0, 0, 0)",
    "CREATE TRIGGER IF NOT EXISTS cache_entries_ins AFTER INSERT ON cache_entries BEGIN "
    "UPDATE cache_meta SET bytes = bytes + NEW.size, entries = entries + 1, "
    "vectors = vectors + (NEW.vector IS NOT NULL) WHERE id = 1; END",
    "CREATE TRIGGER IF NOT EXISTS cache_entries_del AFTER DELETE ON cache_entries BEGIN "
    "UPDATE cache_meta SET bytes = bytes - OLD.size, entries = entries - 1, "
    "vectors = vectors - (OLD.vector IS NOT NULL) WHERE id = 1; END",
};

typedef enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_GET_KEY,
    S_GET_ID,
    S_TOUCH,
    S_DELETE_ID,
    S_DELETE_KEY,
    S_DELETE_KEY_EXPIRED,
    S_INSERT,
    S_DELETE_EXPIRED,
    S_META,
    S_EVICT_LRU,
    S_EVICT_VECTORS,
    S_VECTORS,
    S_LAST_VECTOR,
    S_VECTOR_ID,
    S_PURGE,
    S_COUNT
} StmtId;

#define ENTRY_COLUMNS                                                                           \
    "SELECT id, key, scope, seed_hash, bucket, source_request_id, created_at, expires_at, "    \
    "status, content_type, stream, body, model, prompt_tokens, completion_tokens, "            \
    "total_tokens, cached_tokens, reasoning_tokens, cost_nanos, sem_group, vector, "           \
    "last_used_at FROM cache_entries "

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_GET_KEY] = ENTRY_COLUMNS "WHERE key = ?1",
    [S_GET_ID] = ENTRY_COLUMNS "WHERE id = ?1",
    [S_TOUCH] = "UPDATE cache_entries SET last_used_at = ?2 WHERE id = ?1",
    [S_DELETE_ID] = "DELETE FROM cache_entries WHERE id = ?1",
    [S_DELETE_KEY] = "DELETE FROM cache_entries WHERE key = ?1",
    [S_DELETE_KEY_EXPIRED] = "DELETE FROM cache_entries WHERE key = ?1 AND expires_at <= ?2",
    [S_INSERT] = "INSERT INTO cache_entries (key, scope, seed_hash, bucket, source_request_id, "
                 "created_at, expires_at, last_used_at, status, content_type, stream, body, "
                 "model, prompt_tokens, completion_tokens, total_tokens, cached_tokens, "
                 "reasoning_tokens, cost_nanos, sem_group, vector, size) VALUES (?1, ?2, ?3, "
                 "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
                 "?20, ?21, ?22)",
    [S_DELETE_EXPIRED] = "DELETE FROM cache_entries WHERE id IN (SELECT id FROM cache_entries "
                         "WHERE expires_at <= ?1 LIMIT ?2)",
    [S_META] = "SELECT bytes, entries, vectors FROM cache_meta WHERE id = 1",
    [S_EVICT_LRU] = "DELETE FROM cache_entries WHERE id IN (SELECT id FROM cache_entries "
                    "ORDER BY last_used_at, id LIMIT ?1)",
    [S_EVICT_VECTORS] = "DELETE FROM cache_entries WHERE id IN (SELECT id FROM cache_entries "
                        "WHERE vector IS NOT NULL ORDER BY last_used_at, id LIMIT ?1)",
    [S_VECTORS] = "SELECT id, vector FROM cache_entries WHERE sem_group = ?1 AND id > ?2 "
                  "AND expires_at > ?3 AND vector IS NOT NULL ORDER BY id",
    [S_LAST_VECTOR] = "SELECT max(id) FROM cache_entries WHERE sem_group = ?1",
    [S_VECTOR_ID] = "SELECT vector FROM cache_entries WHERE id = ?1 AND sem_group = ?2 "
                    "AND expires_at > ?3 AND vector IS NOT NULL",
    [S_PURGE] = "DELETE FROM cache_entries WHERE (?1 IS NULL OR scope = ?1) "
                "AND (?2 IS NULL OR seed_hash = ?2)",
};

struct GwCacheStore {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
};

static GwStatus fail(GwCacheStore *st, int rc, const char *what, GError **err)
{
    return gw_fail(err, GW_EDB, "cache database: %s: %s", what,
                   st != NULL && sqlite3_errcode(st->db) == rc ? sqlite3_errmsg(st->db)
                                                               : sqlite3_errstr(rc));
}

static GwStatus prep(GwCacheStore *st, StmtId id, sqlite3_stmt **out, GError **err)
{
    if (st->stmt[id] == NULL) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return fail(st, rc, "preparing a statement", err);
    }
    *out = st->stmt[id];
    return GW_OK;
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Runs a statement that returns no rows (or ignores them). */
static GwStatus exec_id(GwCacheStore *st, StmtId id, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, id, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? GW_OK : fail(st, rc, stmt_sql[id], err);
}

GwStatus gw_cache_store_open(const char *path, GwCacheStore **out, GError **err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        GwStatus gs = gw_fail(err, GW_EDB, "cannot open cache database %s: %s", path,
                              db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return gs;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, CACHE_BUSY_TIMEOUT_MS);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(schema); i++) {
        sqlite3_stmt *s = NULL;
        rc = sqlite3_prepare_v2(db, schema[i], -1, &s, NULL);
        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(s)) == SQLITE_ROW)
                ;
            if (rc == SQLITE_DONE)
                rc = SQLITE_OK;
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_OK) {
            GwStatus gs = gw_fail(err, GW_EDB, "cannot set up cache database %s: %s", path,
                                  sqlite3_errcode(db) == rc ? sqlite3_errmsg(db)
                                                            : sqlite3_errstr(rc));
            sqlite3_close(db);
            return gs;
        }
    }
    GwCacheStore *st = g_new0(GwCacheStore, 1);
    st->db = db;
    *out = st;
    return GW_OK;
}

void gw_cache_store_close(GwCacheStore *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    g_free(st);
}

GwCacheEntry *gw_cache_entry_new(void)
{
    GwCacheEntry *e = g_new0(GwCacheEntry, 1);
    e->prompt_tokens = e->completion_tokens = e->total_tokens = -1;
    e->cached_tokens = e->reasoning_tokens = e->cost_nanos = -1;
    return e;
}

void gw_cache_entry_free(GwCacheEntry *e)
{
    if (e == NULL)
        return;
    g_free(e->scope);
    g_free(e->content_type);
    if (e->body != NULL)
        g_bytes_unref(e->body);
    g_free(e->model);
    g_free(e->sem_group);
    g_free(e->vector);
    g_free(e);
}

static gint64 col_opt(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}

static GwCacheEntry *entry_from_row(sqlite3_stmt *s)
{
    GwCacheEntry *e = gw_cache_entry_new();
    e->id = sqlite3_column_int64(s, 0);
    g_strlcpy(e->key, (const char *)sqlite3_column_text(s, 1), sizeof e->key);
    e->scope = g_strdup((const char *)sqlite3_column_text(s, 2));
    g_strlcpy(e->seed_hash, (const char *)sqlite3_column_text(s, 3), sizeof e->seed_hash);
    e->bucket = sqlite3_column_int(s, 4);
    g_strlcpy(e->source_request_id, (const char *)sqlite3_column_text(s, 5),
              sizeof e->source_request_id);
    e->created_at = sqlite3_column_int64(s, 6);
    e->expires_at = sqlite3_column_int64(s, 7);
    e->status = sqlite3_column_int(s, 8);
    e->content_type = g_strdup((const char *)sqlite3_column_text(s, 9));
    e->stream = sqlite3_column_int(s, 10) != 0;
    const void *b = sqlite3_column_blob(s, 11);
    e->body = g_bytes_new(b, (gsize)sqlite3_column_bytes(s, 11));
    e->model = g_strdup((const char *)sqlite3_column_text(s, 12));
    e->prompt_tokens = col_opt(s, 13);
    e->completion_tokens = col_opt(s, 14);
    e->total_tokens = col_opt(s, 15);
    e->cached_tokens = col_opt(s, 16);
    e->reasoning_tokens = col_opt(s, 17);
    e->cost_nanos = col_opt(s, 18);
    e->sem_group = g_strdup((const char *)sqlite3_column_text(s, 19));
    int vb = sqlite3_column_bytes(s, 20);
    if (vb > 0 && vb % (int)sizeof(float) == 0) {
        e->dims = (gsize)vb / sizeof(float);
        e->vector = g_memdup2(sqlite3_column_blob(s, 20), (gsize)vb);
    }
    return e;
}

static GwStatus delete_id(GwCacheStore *st, gint64 id, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_DELETE_ID, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_DONE ? GW_OK : fail(st, rc, "removing an expired entry", err);
}

/* Steps a bound S_GET_* statement: the live entry, or GW_ENOTFOUND. */
static GwStatus get_entry(GwCacheStore *st, sqlite3_stmt *s, gint64 now_ms, GwCacheEntry **out,
                          GError **err)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        return GW_ENOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        done(s);
        return fail(st, rc, "reading an entry", err);
    }
    GwCacheEntry *e = entry_from_row(s);
    gint64 last_used = sqlite3_column_int64(s, 21);
    done(s);
    if (e->expires_at <= now_ms) {
        GwStatus gs = delete_id(st, e->id, err);
        gw_cache_entry_free(e);
        return gs != GW_OK ? gs : GW_ENOTFOUND;
    }
    /* LRU order at one-second granularity: a hit costs a write at most once a second. */
    if (now_ms - last_used >= 1000) {
        sqlite3_stmt *t = NULL;
        if (prep(st, S_TOUCH, &t, NULL) == GW_OK) {
            sqlite3_bind_int64(t, 1, e->id);
            sqlite3_bind_int64(t, 2, now_ms);
            (void)sqlite3_step(t); /* a busy database only delays the LRU mark */
            done(t);
        }
    }
    *out = e;
    return GW_OK;
}

GwStatus gw_cache_store_get(GwCacheStore *st, const char *key, gint64 now_ms, GwCacheEntry **out,
                            GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_GET_KEY, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    return get_entry(st, s, now_ms, out, err);
}

GwStatus gw_cache_store_get_by_id(GwCacheStore *st, gint64 id, gint64 now_ms, GwCacheEntry **out,
                                  GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_GET_ID, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, id);
    return get_entry(st, s, now_ms, out, err);
}

static int bind_opt(sqlite3_stmt *s, int i, gint64 v)
{
    return v >= 0 ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

static int bind_str(sqlite3_stmt *s, int i, const char *v)
{
    return v != NULL ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

/* Binds e for S_INSERT under key and bucket (which override e's own). */
static int insert_bind(sqlite3_stmt *s, const GwCacheEntry *e, const char *key, int bucket,
                       gint64 now_ms)
{
    gsize blen = 0;
    const void *body = e->body != NULL ? g_bytes_get_data(e->body, &blen) : NULL;
    gsize vbytes = e->vector != NULL ? e->dims * sizeof(float) : 0;
    if (blen > G_MAXINT / 2 || vbytes > G_MAXINT / 2)
        return SQLITE_TOOBIG;
    gint64 size = (gint64)blen + (gint64)vbytes + 512; /* row overhead, roughly */
    int rc = SQLITE_OK;
#define B(expr)                       \
    if (rc == SQLITE_OK)              \
        rc = (expr);
    B(sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT));
    B(bind_str(s, 2, e->scope));
    B(sqlite3_bind_text(s, 3, e->seed_hash, -1, SQLITE_TRANSIENT));
    B(sqlite3_bind_int(s, 4, bucket));
    B(sqlite3_bind_text(s, 5, e->source_request_id, -1, SQLITE_TRANSIENT));
    B(sqlite3_bind_int64(s, 6, now_ms));
    B(sqlite3_bind_int64(s, 7, e->expires_at));
    B(sqlite3_bind_int64(s, 8, now_ms));
    B(sqlite3_bind_int(s, 9, e->status));
    B(bind_str(s, 10, e->content_type));
    B(sqlite3_bind_int(s, 11, e->stream ? 1 : 0));
    B(blen > 0 ? sqlite3_bind_blob(s, 12, body, (int)blen, SQLITE_TRANSIENT)
               : sqlite3_bind_zeroblob(s, 12, 0));
    B(bind_str(s, 13, e->model));
    B(bind_opt(s, 14, e->prompt_tokens));
    B(bind_opt(s, 15, e->completion_tokens));
    B(bind_opt(s, 16, e->total_tokens));
    B(bind_opt(s, 17, e->cached_tokens));
    B(bind_opt(s, 18, e->reasoning_tokens));
    B(bind_opt(s, 19, e->cost_nanos));
    B(bind_str(s, 20, e->vector != NULL ? e->sem_group : NULL));
    B(vbytes > 0 ? sqlite3_bind_blob(s, 21, e->vector, (int)vbytes, SQLITE_TRANSIENT)
                 : sqlite3_bind_null(s, 21));
    B(sqlite3_bind_int64(s, 22, size));
#undef B
    return rc;
}

/* Removes a batch of expired entries, then least recently used ones while the cache is over
 * its byte or vector limit (bounded rounds, each a batch sized from the excess). */
static GwStatus evict(GwCacheStore *st, gint64 max_bytes, gint64 max_vectors, gint64 now_ms,
                      GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_DELETE_EXPIRED, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int(s, 2, EVICT_BATCH);
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE)
        return fail(st, rc, "removing expired entries", err);
    for (int round = 0; round < EVICT_ROUNDS_MAX; round++) {
        gint64 bytes = 0, entries = 0, vectors = 0;
        if ((gs = gw_cache_store_stats(st, &entries, &vectors, &bytes, err)) != GW_OK)
            return gs;
        StmtId id;
        gint64 over;
        if (max_bytes > 0 && bytes > max_bytes && entries > 0) {
            id = S_EVICT_LRU;
            over = 1 + (bytes - max_bytes) / MAX(bytes / entries, 1);
        } else if (max_vectors > 0 && vectors > max_vectors) {
            id = S_EVICT_VECTORS;
            over = vectors - max_vectors;
        } else {
            return GW_OK;
        }
        if ((gs = prep(st, id, &s, err)) != GW_OK)
            return gs;
        sqlite3_bind_int64(s, 1, MIN(over, (gint64)EVICT_BATCH * 16));
        rc = sqlite3_step(s);
        done(s);
        if (rc != SQLITE_DONE)
            return fail(st, rc, "evicting entries", err);
    }
    return GW_OK;
}

GwStatus gw_cache_store_put(GwCacheStore *st, const GwCacheEntry *e, gint64 now_ms,
                            gint64 max_bytes, gint64 max_vectors, GError **err)
{
    GwStatus gs = exec_id(st, S_BEGIN, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_stmt *s = NULL;
    /* Delete, then insert (not INSERT OR REPLACE, whose implicit delete fires no trigger). */
    if ((gs = prep(st, S_DELETE_KEY, &s, err)) == GW_OK) {
        sqlite3_bind_text(s, 1, e->key, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(s);
        done(s);
        if (rc != SQLITE_DONE)
            gs = fail(st, rc, "replacing an entry", err);
    }
    if (gs == GW_OK && (gs = prep(st, S_INSERT, &s, err)) == GW_OK) {
        int rc = insert_bind(s, e, e->key, e->bucket, now_ms);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(s);
        done(s);
        if (rc != SQLITE_DONE)
            gs = fail(st, rc, "saving an entry", err);
    }
    if (gs == GW_OK)
        gs = evict(st, max_bytes, max_vectors, now_ms, err);
    if (gs == GW_OK)
        return exec_id(st, S_COMMIT, err);
    exec_id(st, S_ROLLBACK, NULL);
    return gs;
}

/* Inserts e under key/bucket unless a live entry holds that key: GW_EEXISTS then (the failed
 * INSERT undoes only itself; the transaction goes on). An expired holder is removed first. */
static GwStatus insert_if_free(GwCacheStore *st, const GwCacheEntry *e, const char *key,
                               int bucket, gint64 now_ms, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_DELETE_KEY_EXPIRED, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE)
        return fail(st, rc, "removing an expired entry", err);
    if ((gs = prep(st, S_INSERT, &s, err)) != GW_OK)
        return gs;
    rc = insert_bind(s, e, key, bucket, now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    done(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return GW_EEXISTS;
    return rc == SQLITE_DONE ? GW_OK : fail(st, rc, "saving an entry", err);
}

GwStatus gw_cache_store_put_free_slot(GwCacheStore *st, const GwCacheEntry *e,
                                      const char *const *keys, int nkeys, gint64 now_ms,
                                      gint64 max_bytes, gint64 max_vectors, int *slot,
                                      GError **err)
{
    *slot = -1;
    GwStatus gs = exec_id(st, S_BEGIN, err);
    if (gs != GW_OK)
        return gs;
    for (int i = 0; i < nkeys; i++) {
        gs = insert_if_free(st, e, keys[i], i, now_ms, err);
        if (gs == GW_EEXISTS)
            continue; /* another request filled this slot first */
        if (gs == GW_OK)
            *slot = i;
        break;
    }
    if (gs == GW_EEXISTS) {
        exec_id(st, S_ROLLBACK, NULL);
        return gw_fail(err, GW_EEXISTS, "every cache slot of this request is filled");
    }
    if (gs == GW_OK)
        gs = evict(st, max_bytes, max_vectors, now_ms, err);
    if (gs == GW_OK && (gs = exec_id(st, S_COMMIT, err)) == GW_OK)
        return GW_OK;
    exec_id(st, S_ROLLBACK, NULL);
    *slot = -1;
    return gs;
}

GwStatus gw_cache_store_vectors(GwCacheStore *st, const char *group, gint64 after_id,
                                gint64 now_ms, GwCacheVectorFn fn, gpointer ud, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_VECTORS, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, group, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, after_id);
    sqlite3_bind_int64(s, 3, now_ms);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int vb = sqlite3_column_bytes(s, 1);
        if (vb <= 0 || vb % (int)sizeof(float) != 0)
            continue;
        /* Blob memory is not guaranteed float-aligned: copy it. */
        gsize dims = (gsize)vb / sizeof(float);
        float *v = g_new(float, dims);
        memcpy(v, sqlite3_column_blob(s, 1), (gsize)vb);
        fn(sqlite3_column_int64(s, 0), v, dims, ud);
        g_free(v);
    }
    done(s);
    return rc == SQLITE_DONE ? GW_OK : fail(st, rc, "reading vectors", err);
}

GwStatus gw_cache_store_vector_get(GwCacheStore *st, gint64 id, const char *group, gint64 now_ms,
                                   float *out, gsize dims, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_VECTOR_ID, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, group, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* Blob memory is not guaranteed float-aligned: copied. */
        const void *blob = sqlite3_column_blob(s, 0);
        if (blob != NULL && (gsize)sqlite3_column_bytes(s, 0) == dims * sizeof(float))
            memcpy(out, blob, dims * sizeof(float));
        else
            gs = GW_ENOTFOUND;
    } else {
        gs = rc == SQLITE_DONE ? GW_ENOTFOUND : fail(st, rc, "reading a vector", err);
    }
    done(s);
    if (gs == GW_ENOTFOUND)
        gw_fail(err, GW_ENOTFOUND, "cache database: vector %" G_GINT64_FORMAT " not found", id);
    return gs;
}

GwStatus gw_cache_store_last_vector_id(GwCacheStore *st, const char *group, gint64 *id,
                                       GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_LAST_VECTOR, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, group, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0); /* NULL (no rows) reads as 0 */
    done(s);
    return rc == SQLITE_ROW ? GW_OK : fail(st, rc, "reading the newest vector id", err);
}

GwStatus gw_cache_store_purge(GwCacheStore *st, const char *scope, const char *seed_hash,
                              gint64 *deleted, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_PURGE, &s, err);
    if (gs != GW_OK)
        return gs;
    bind_str(s, 1, scope);
    bind_str(s, 2, seed_hash);
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE)
        return fail(st, rc, "purging entries", err);
    if (deleted != NULL)
        *deleted = sqlite3_changes64(st->db);
    return GW_OK;
}

GwStatus gw_cache_store_stats(GwCacheStore *st, gint64 *entries, gint64 *vectors, gint64 *bytes,
                              GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = prep(st, S_META, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(s, 0);
        *entries = sqlite3_column_int64(s, 1);
        *vectors = sqlite3_column_int64(s, 2);
    }
    done(s);
    return rc == SQLITE_ROW ? GW_OK : fail(st, rc, "reading cache totals", err);
}
