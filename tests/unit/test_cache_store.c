/* test_cache_store.c — the cache database: save and read back, expiry with an injected clock,
 * replacement, LRU eviction under a byte cap and a vector cap, purging by scope and seed, and
 * the vector scan of a semantic group. */
#include "config.h"
#include "cache_key.h"
#include "cache_store.h"

#include <string.h>
#include <glib/gstdio.h>

#define T0 G_GINT64_CONSTANT(1700000000000)

typedef struct {
    char *dir;
    GwCacheStore *st;
} Fx;

static void fx_setup(Fx *f, gconstpointer data)
{
    (void)data;
    f->dir = g_dir_make_tmp("cache-store-XXXXXX", NULL);
    char *path = g_build_filename(f->dir, "cache.db", NULL);
    GError *err = NULL;
    g_assert_cmpint(gw_cache_store_open(path, &f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_free(path);
}

static void fx_teardown(Fx *f, gconstpointer data)
{
    (void)data;
    gw_cache_store_close(f->st);
    const char *files[] = {"cache.db", "cache.db-wal", "cache.db-shm"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(f->dir, files[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
}

static GwCacheEntry *entry(const char *key, const char *scope, const char *seed, const char *body,
                           gint64 expires_at)
{
    GwCacheEntry *e = gw_cache_entry_new();
    g_strlcpy(e->key, key, sizeof e->key);
    e->scope = g_strdup(scope);
    gw_cache_seed_hash(seed, e->seed_hash);
    g_strlcpy(e->source_request_id, "01890000-0000-7000-8000-000000000001",
              sizeof e->source_request_id);
    e->expires_at = expires_at;
    e->status = 200;
    e->content_type = g_strdup("application/json");
    e->body = g_bytes_new(body, strlen(body));
    e->model = g_strdup("gpt-4o-mini");
    e->prompt_tokens = 11;
    e->completion_tokens = 7;
    e->total_tokens = 18;
    e->cost_nanos = 12345;
    return e;
}

static void put(Fx *f, GwCacheEntry *e, gint64 now, gint64 max_bytes, gint64 max_vectors)
{
    GError *err = NULL;
    g_assert_cmpint(gw_cache_store_put(f->st, e, now, max_bytes, max_vectors, &err), ==, GW_OK);
    g_assert_no_error(err);
    gw_cache_entry_free(e);
}

static gboolean present(Fx *f, const char *key, gint64 now)
{
    GwCacheEntry *e = NULL;
    GwStatus st = gw_cache_store_get(f->st, key, now, &e, NULL);
    g_assert_true(st == GW_OK || st == GW_ENOTFOUND);
    gw_cache_entry_free(e);
    return st == GW_OK;
}

static void test_roundtrip(Fx *f, gconstpointer data)
{
    (void)data;
    put(f, entry("k1", "vk:1", NULL, "{\"a\":1}", T0 + 1000), T0, 0, 0);
    GwCacheEntry *e = NULL;
    g_assert_cmpint(gw_cache_store_get(f->st, "k1", T0 + 999, &e, NULL), ==, GW_OK);
    g_assert_cmpstr(e->scope, ==, "vk:1");
    g_assert_cmpint(e->status, ==, 200);
    g_assert_cmpint(e->total_tokens, ==, 18);
    g_assert_cmpint(e->cost_nanos, ==, 12345);
    g_assert_cmpint(e->cached_tokens, ==, -1);
    g_assert_cmpstr(e->source_request_id, ==, "01890000-0000-7000-8000-000000000001");
    gsize n;
    const char *b = g_bytes_get_data(e->body, &n);
    g_assert_cmpmem(b, n, "{\"a\":1}", 7);
    g_assert_false(e->stream);
    g_assert_null(e->vector);
    gw_cache_entry_free(e);
    g_assert_false(present(f, "k2", T0));
    /* Replacing a key keeps one row. */
    put(f, entry("k1", "vk:1", NULL, "{\"a\":2}", T0 + 1000), T0, 0, 0);
    gint64 entries, vectors, bytes;
    g_assert_cmpint(gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL), ==, GW_OK);
    g_assert_cmpint(entries, ==, 1);
    g_assert_cmpint(vectors, ==, 0);
    g_assert_cmpint(bytes, >, 7);
}

static void test_expiry(Fx *f, gconstpointer data)
{
    (void)data;
    put(f, entry("k1", "vk:1", NULL, "x", T0 + 60000), T0, 0, 0);
    g_assert_true(present(f, "k1", T0 + 59999));
    g_assert_false(present(f, "k1", T0 + 60000)); /* expired: a miss, and removed */
    gint64 entries, vectors, bytes;
    gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL);
    g_assert_cmpint(entries, ==, 0);
    g_assert_cmpint(bytes, ==, 0);
    g_assert_false(present(f, "k1", T0)); /* gone even for an earlier clock */
}

static void test_lru(Fx *f, gconstpointer data)
{
    (void)data;
    char body[4000];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    /* Each row is ~4.5 KB; a 20 KB cap keeps four. k0 is read (used) before k5 arrives. */
    for (int i = 0; i < 4; i++) {
        char k[8];
        g_snprintf(k, sizeof k, "k%d", i);
        put(f, entry(k, "vk:1", NULL, body, T0 + 1000000), T0 + i * 2000, 20000, 0);
    }
    g_assert_true(present(f, "k0", T0 + 11000));
    put(f, entry("k5", "vk:1", NULL, body, T0 + 1000000), T0 + 12000, 20000, 0);
    g_assert_true(present(f, "k2", T0 + 13000));
    g_assert_true(present(f, "k3", T0 + 13000));
    g_assert_true(present(f, "k0", T0 + 13000));
    g_assert_false(present(f, "k1", T0 + 13000));
    g_assert_true(present(f, "k5", T0 + 13000));
    gint64 entries, vectors, bytes;
    gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL);
    g_assert_cmpint(bytes, <=, 20000);
    g_assert_cmpint(entries, ==, 4);
}

static void test_purge(Fx *f, gconstpointer data)
{
    (void)data;
    put(f, entry("a", "vk:1", NULL, "x", T0 + 10000), T0, 0, 0);
    put(f, entry("b", "vk:1", "s", "x", T0 + 10000), T0, 0, 0);
    put(f, entry("c", "vk:2", "s", "x", T0 + 10000), T0, 0, 0);
    put(f, entry("d", "vk:2", NULL, "x", T0 + 10000), T0, 0, 0);
    char seed[65];
    gw_cache_seed_hash("s", seed);
    gint64 n = 0;
    g_assert_cmpint(gw_cache_store_purge(f->st, "vk:1", seed, &n, NULL), ==, GW_OK);
    g_assert_cmpint(n, ==, 1);
    g_assert_false(present(f, "b", T0));
    g_assert_true(present(f, "c", T0));
    g_assert_cmpint(gw_cache_store_purge(f->st, NULL, seed, &n, NULL), ==, GW_OK);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpint(gw_cache_store_purge(f->st, "vk:2", NULL, &n, NULL), ==, GW_OK);
    g_assert_cmpint(n, ==, 1);
    g_assert_true(present(f, "a", T0));
    g_assert_cmpint(gw_cache_store_purge(f->st, NULL, NULL, &n, NULL), ==, GW_OK);
    g_assert_cmpint(n, ==, 1);
}

typedef struct {
    GArray *ids;
    gsize dims;
    float first;
} Seen;

static void on_vec(gint64 id, const float *v, gsize dims, gpointer ud)
{
    Seen *s = ud;
    g_array_append_val(s->ids, id);
    s->dims = dims;
    s->first = v[0];
}

static void test_vectors(Fx *f, gconstpointer data)
{
    (void)data;
    for (int i = 0; i < 4; i++) {
        char k[8];
        g_snprintf(k, sizeof k, "v%d", i);
        GwCacheEntry *e = entry(k, "vk:1", NULL, "x", i == 3 ? T0 + 5 : T0 + 10000);
        e->sem_group = g_strdup(i == 2 ? "other" : "g");
        e->dims = 3;
        e->vector = g_new(float, 3);
        e->vector[0] = (float)i;
        e->vector[1] = e->vector[2] = 0.5f;
        put(f, e, T0, 0, 0);
    }
    Seen s = {g_array_new(FALSE, FALSE, sizeof(gint64)), 0, 0};
    g_assert_cmpint(gw_cache_store_vectors(f->st, "g", 0, T0 + 10, on_vec, &s, NULL), ==, GW_OK);
    g_assert_cmpuint(s.ids->len, ==, 2); /* v0, v1 (v2 other group, v3 expired) */
    g_assert_cmpuint(s.dims, ==, 3);
    g_assert_cmpfloat(s.first, ==, 1.0f);
    gint64 after = g_array_index(s.ids, gint64, 0);
    g_array_set_size(s.ids, 0);
    gw_cache_store_vectors(f->st, "g", after, T0 + 10, on_vec, &s, NULL);
    g_assert_cmpuint(s.ids->len, ==, 1);
    GwCacheEntry *e = NULL;
    g_assert_cmpint(gw_cache_store_get_by_id(f->st, g_array_index(s.ids, gint64, 0), T0, &e, NULL),
                    ==, GW_OK);
    g_assert_cmpuint(e->dims, ==, 3);
    g_assert_cmpstr(e->key, ==, "v1");
    gw_cache_entry_free(e);
    g_array_unref(s.ids);
    /* Vector cap: the least recently used vectors go. */
    GwCacheEntry *n = entry("v9", "vk:1", NULL, "x", T0 + 10000);
    n->sem_group = g_strdup("g");
    n->dims = 1;
    n->vector = g_new0(float, 1);
    put(f, n, T0 + 5000, 0, 2);
    gint64 entries, vectors, bytes;
    gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL);
    g_assert_cmpint(vectors, ==, 2);
    g_assert_true(present(f, "v9", T0 + 5000));
}

static void test_open_failure(void)
{
    GwCacheStore *st = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_cache_store_open("/nonexistent-dir/x/cache.db", &st, &err), ==, GW_EDB);
    g_assert_null(st);
    g_assert_nonnull(strstr(err->message, "cache database"));
    g_error_free(err);
}

/* Free-slot saves: each save claims the next slot still free, never an occupied one; with all
 * filled nothing is saved; an expired holder frees its slot. Two connections (as two worker
 * threads) see each other's claims. */
static void test_free_slot(Fx *f, gconstpointer data)
{
    (void)data;
    char *path = g_build_filename(f->dir, "cache.db", NULL);
    GwCacheStore *other = NULL;
    g_assert_cmpint(gw_cache_store_open(path, &other, NULL), ==, GW_OK);
    g_free(path);
    const char *keys[] = {"slot0", "slot1", "slot2"};
    GwCacheStore *conns[] = {f->st, other, f->st};
    for (int i = 0; i < 3; i++) {
        char body[16];
        g_snprintf(body, sizeof body, "answer %d", i);
        GwCacheEntry *e = entry("ignored", "vk:1", NULL, body, T0 + (i == 1 ? 1000 : 100000));
        int slot = -1;
        g_assert_cmpint(gw_cache_store_put_free_slot(conns[i], e, keys, 3, T0, 0, 0, &slot,
                                                     NULL), ==, GW_OK);
        g_assert_cmpint(slot, ==, i);
        gw_cache_entry_free(e);
    }
    GwCacheEntry *e = entry("ignored", "vk:1", NULL, "answer 3", T0 + 100000);
    int slot = 7;
    GError *err = NULL;
    g_assert_cmpint(gw_cache_store_put_free_slot(other, e, keys, 3, T0 + 1, 0, 0, &slot, &err),
                    ==, GW_EEXISTS);
    g_assert_cmpint(slot, ==, -1);
    g_clear_error(&err);
    gint64 entries = 0, vectors = 0, bytes = 0;
    g_assert_cmpint(gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL), ==, GW_OK);
    g_assert_cmpint(entries, ==, 3);
    for (int i = 0; i < 3; i++) {
        GwCacheEntry *got = NULL;
        g_assert_cmpint(gw_cache_store_get(f->st, keys[i], T0 + 1, &got, NULL), ==, GW_OK);
        g_assert_cmpint(got->bucket, ==, i);
        char want[16];
        g_snprintf(want, sizeof want, "answer %d", i);
        g_assert_cmpmem(g_bytes_get_data(got->body, NULL), g_bytes_get_size(got->body), want,
                        strlen(want));
        gw_cache_entry_free(got);
    }
    /* Slot 1 expires: the next save takes it. */
    g_assert_cmpint(gw_cache_store_put_free_slot(other, e, keys, 3, T0 + 2000, 0, 0, &slot,
                                                 NULL), ==, GW_OK);
    g_assert_cmpint(slot, ==, 1);
    gw_cache_entry_free(e);
    g_assert_cmpint(gw_cache_store_stats(f->st, &entries, &vectors, &bytes, NULL), ==, GW_OK);
    g_assert_cmpint(entries, ==, 3);
    gw_cache_store_close(other);
}

/* The newest vector id of a group: 0 for none, then the largest row id. */
static void test_last_vector_id(Fx *f, gconstpointer data)
{
    (void)data;
    gint64 id = -1;
    g_assert_cmpint(gw_cache_store_last_vector_id(f->st, "g", &id, NULL), ==, GW_OK);
    g_assert_cmpint(id, ==, 0);
    for (int i = 0; i < 2; i++) {
        char key[8];
        g_snprintf(key, sizeof key, "k%d", i);
        GwCacheEntry *e = entry(key, "vk:1", NULL, "x", T0 + 100000);
        e->sem_group = g_strdup(i == 0 ? "g" : "h");
        float v[2] = {1, 0};
        e->vector = g_memdup2(v, sizeof v);
        e->dims = 2;
        g_assert_cmpint(gw_cache_store_put(f->st, e, T0, 0, 0, NULL), ==, GW_OK);
        gw_cache_entry_free(e);
    }
    g_assert_cmpint(gw_cache_store_last_vector_id(f->st, "g", &id, NULL), ==, GW_OK);
    g_assert_cmpint(id, ==, 1);
    g_assert_cmpint(gw_cache_store_last_vector_id(f->st, "h", &id, NULL), ==, GW_OK);
    g_assert_cmpint(id, ==, 2);
}

/* A vector read back by id (what a semantic search re-ranks): only a live entry of that group
 * with a vector of that size; otherwise GW_ENOTFOUND and the output untouched. */
static void test_vector_get(Fx *f, gconstpointer data)
{
    (void)data;
    gint64 ids[4];
    for (int i = 0; i < 4; i++) {
        char key[8];
        g_snprintf(key, sizeof key, "k%d", i);
        GwCacheEntry *e = entry(key, "vk:1", NULL, "x", i == 2 ? T0 + 5 : T0 + 100000);
        if (i < 3) {
            e->sem_group = g_strdup("g");
            float v[3] = {(float)i, 0.25f, -0.5f};
            e->vector = g_memdup2(v, sizeof v);
            e->dims = 3;
        }
        put(f, e, T0, 0, 0);
        gw_cache_store_get(f->st, key, T0, &e, NULL);
        ids[i] = e->id;
        gw_cache_entry_free(e);
    }
    float out[3] = {9, 9, 9};
    g_assert_cmpint(gw_cache_store_vector_get(f->st, ids[1], "g", T0 + 10, out, 3, NULL), ==,
                    GW_OK);
    g_assert_cmpfloat(out[0], ==, 1.0f);
    g_assert_cmpfloat(out[1], ==, 0.25f);
    g_assert_cmpfloat(out[2], ==, -0.5f);
    const struct {
        gint64 id;
        const char *group;
        gsize dims;
    } miss[] = {
        {ids[1], "h", 3},     /* another group */
        {ids[1], "g", 4},     /* another size */
        {ids[2], "g", 3},     /* expired */
        {ids[3], "g", 3},     /* no vector */
        {ids[3] + 10, "g", 3} /* no such entry */
    };
    for (guint i = 0; i < G_N_ELEMENTS(miss); i++) {
        float o[4] = {9, 9, 9, 9};
        GError *err = NULL;
        g_assert_cmpint(gw_cache_store_vector_get(f->st, miss[i].id, miss[i].group, T0 + 10, o,
                                                  miss[i].dims, &err), ==, GW_ENOTFOUND);
        g_assert_error(err, GW_ERROR, GW_ENOTFOUND);
        g_error_free(err);
        g_assert_cmpfloat(o[0], ==, 9.0f);
    }
    /* Purged: gone. */
    g_assert_cmpint(gw_cache_store_purge(f->st, NULL, NULL, NULL, NULL), ==, GW_OK);
    g_assert_cmpint(gw_cache_store_vector_get(f->st, ids[0], "g", T0 + 10, out, 3, NULL), ==,
                    GW_ENOTFOUND);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/cache_store/roundtrip", Fx, NULL, fx_setup, test_roundtrip, fx_teardown);
    g_test_add("/cache_store/expiry", Fx, NULL, fx_setup, test_expiry, fx_teardown);
    g_test_add("/cache_store/lru", Fx, NULL, fx_setup, test_lru, fx_teardown);
    g_test_add("/cache_store/purge", Fx, NULL, fx_setup, test_purge, fx_teardown);
    g_test_add("/cache_store/vectors", Fx, NULL, fx_setup, test_vectors, fx_teardown);
    g_test_add("/cache_store/free_slot", Fx, NULL, fx_setup, test_free_slot, fx_teardown);
    g_test_add("/cache_store/last_vector_id", Fx, NULL, fx_setup, test_last_vector_id,
               fx_teardown);
    g_test_add("/cache_store/vector_get", Fx, NULL, fx_setup, test_vector_get, fx_teardown);
    g_test_add_func("/cache_store/open_failure", test_open_failure);
    return g_test_run();
}
