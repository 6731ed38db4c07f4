/* cachebench.c — the response cache in isolation (issue #9 items 5 and 6):
 *  - exact hit: key derivation (canonical JSON + SHA-256) and gw_cache_store_get of a live entry
 *    in a temporary cache database, µs per lookup;
 *  - semantic search: gw_vec_index_search (the int8 scan + exact float32 re-rank the gateway
 *    runs) over 100,000 unit vectors of one scope, ms per search (p50, p99) at 384, 768 and
 *    1536 dimensions, beside the plain float32 scan (gw_vec_search), with a check that both
 *    return the same row and similarity on every query; and the one-time load of 1536-dim
 *    vectors from the database into memory.
 * Prints one JSON object. Usage: cachebench [vectors] [exact_iterations] [searches] */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache_key.h"
#include "cache_store.h"
#include "cache_vec.h"

#define T0 G_GINT64_CONSTANT(1700000000000)

static gint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, GError *err)
{
    fprintf(stderr, "cachebench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double p50, p99, min;       /* quantised index search (what the gateway runs), ms */
    double exact_p50, exact_p99; /* float32 brute force, ms */
    double rescored_mean;       /* rows re-ranked in float32 per search */
    int mismatches;             /* searches where the two disagree (must be 0) */
} SearchResult;

static void percentiles(double *ms, int runs, double *p50, double *p99)
{
    qsort(ms, (size_t)runs, sizeof(double), cmp_double);
    *p50 = ms[runs / 2];
    *p99 = ms[(runs * 99) / 100];
}

/* `runs` searches over n random unit vectors of dims, half with a random query (no close
 * match: many rows within the quantisation error of the best, the most re-ranking) and half
 * with a perturbed copy of a stored row (a hit). Floor -1: the exact best is always wanted. */
static SearchResult search_bench(gsize n, gsize dims, int runs)
{
    SearchResult res = {0};
    float *mat = g_new(float, n * dims), *q = g_new(float, dims);
    GRand *r = g_rand_new_with_seed(42);
    GwVecIndex *ix = gw_vec_index_new(dims);
    for (gsize i = 0; i < n; i++) {
        for (gsize k = 0; k < dims; k++)
            mat[i * dims + k] = (float)g_rand_double_range(r, -1, 1);
        gw_vec_normalize(mat + i * dims, dims);
        gw_vec_index_add(ix, mat + i * dims);
    }
    double *ms = g_new(double, runs), *ems = g_new(double, runs);
    gsize rescored_sum = 0;
    for (int k = 0; k < runs; k++) {
        gsize planted = (gsize)g_rand_int_range(r, 0, (gint32)n);
        for (gsize i = 0; i < dims; i++)
            q[i] = (float)g_rand_double_range(r, -1, 1) * (k % 2 ? 0.02f : 1.0f) +
                   (k % 2 ? mat[planted * dims + i] : 0.0f);
        gw_vec_normalize(q, dims);
        float best, exact;
        gsize rescored = 0;
        gint64 t = now_ns();
        gssize at = gw_vec_index_search(ix, q, -1, &best, &rescored);
        ms[k] = (double)(now_ns() - t) / 1e6;
        t = now_ns();
        gssize eat = gw_vec_search(mat, n, dims, q, &exact);
        ems[k] = (double)(now_ns() - t) / 1e6;
        rescored_sum += rescored;
        if (at != eat || best != exact)
            res.mismatches++;
    }
    percentiles(ms, runs, &res.p50, &res.p99);
    res.min = ms[0];
    percentiles(ems, runs, &res.exact_p50, &res.exact_p99);
    res.rescored_mean = (double)rescored_sum / runs;
    g_free(ms);
    g_free(ems);
    gw_vec_index_free(ix);
    g_rand_free(r);
    g_free(q);
    g_free(mat);
    return res;
}

typedef struct {
    gsize count;
} Loaded;

static void on_vec(gint64 id, const float *v, gsize dims, gpointer ud)
{
    (void)id;
    (void)v;
    (void)dims;
    ((Loaded *)ud)->count++;
}

int main(int argc, char **argv)
{
    gsize nvec = argc > 1 ? (gsize)atol(argv[1]) : 100000;
    long iters = argc > 2 ? atol(argv[2]) : 20000;
    GError *err = NULL;
    char *dir = g_dir_make_tmp("cachebench-XXXXXX", &err);
    if (dir == NULL)
        die("tmpdir", err);
    char *path = g_build_filename(dir, "cache.db", NULL);
    GwCacheStore *st = NULL;
    if (gw_cache_store_open(path, &st, &err) != GW_OK)
        die("open", err);

    /* Exact hit: one stored answer, looked up by a freshly derived key each time. */
    const char *body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"Hello, how are you today?\"}]}";
    json_t *j = json_loads(body, 0, NULL);
    GwCacheKeyInput in = {.scope = "vk:1", .method = "POST",
                          .path_query = "/v1/chat/completions", .body = j};
    GwCacheEntry *e = gw_cache_entry_new();
    gw_cache_key(&in, 0, e->key);
    e->scope = g_strdup("vk:1");
    gw_cache_seed_hash(NULL, e->seed_hash);
    g_strlcpy(e->source_request_id, "01890000-0000-7000-8000-000000000001",
              sizeof e->source_request_id);
    e->expires_at = T0 + 86400000;
    e->status = 200;
    e->content_type = g_strdup("application/json");
    char answer[600];
    memset(answer, 'a', sizeof answer - 1);
    answer[sizeof answer - 1] = '\0';
    e->body = g_bytes_new(answer, strlen(answer));
    if (gw_cache_store_put(st, e, T0, 0, 0, &err) != GW_OK)
        die("put", err);
    gw_cache_entry_free(e);
    gint64 t = now_ns();
    for (long i = 0; i < iters; i++) {
        char key[GW_CACHE_KEY_HEX_LEN + 1];
        gw_cache_key(&in, 0, key);
        GwCacheEntry *got = NULL;
        if (gw_cache_store_get(st, key, T0 + 1, &got, &err) != GW_OK)
            die("get", err);
        gw_cache_entry_free(got);
    }
    double exact_us = (double)(now_ns() - t) / 1e3 / (double)iters;
    json_decref(j);

    /* Loading nvec 1536-dim vectors of one group from the database (once per process). */
    GRand *r = g_rand_new_with_seed(1);
    gsize dims = 1536;
    float *v = g_new(float, dims);
    gint64 tl = now_ns();
    for (gsize i = 0; i < nvec; i++) {
        GwCacheEntry *x = gw_cache_entry_new();
        g_snprintf(x->key, sizeof x->key, "v%" G_GSIZE_FORMAT, i);
        x->scope = g_strdup("vk:1");
        gw_cache_seed_hash(NULL, x->seed_hash);
        g_strlcpy(x->source_request_id, "01890000-0000-7000-8000-000000000002",
                  sizeof x->source_request_id);
        x->expires_at = T0 + 86400000;
        x->status = 200;
        x->body = g_bytes_new("{}", 2);
        x->sem_group = g_strdup("g");
        for (gsize k = 0; k < dims; k++)
            v[k] = (float)g_rand_double_range(r, -1, 1);
        gw_vec_normalize(v, dims);
        x->vector = g_memdup2(v, dims * sizeof(float));
        x->dims = dims;
        if (gw_cache_store_put(st, x, T0, 0, 0, &err) != GW_OK)
            die("put vector", err);
        gw_cache_entry_free(x);
    }
    double insert_s = (double)(now_ns() - tl) / 1e9;
    Loaded loaded = {0};
    tl = now_ns();
    if (gw_cache_store_vectors(st, "g", 0, T0 + 1, on_vec, &loaded, &err) != GW_OK)
        die("vectors", err);
    double load_ms = (double)(now_ns() - tl) / 1e6;
    g_free(v);
    g_rand_free(r);

    const gsize sizes[] = {384, 768, 1536};
    const int runs = argc > 3 ? atoi(argv[3]) : 100;
    printf("{\"exact_hit_lookup_us\":%.2f,\"semantic_vectors\":%" G_GSIZE_FORMAT ","
           "\"semantic_load_1536d_ms\":%.1f,\"semantic_insert_1536d_s\":%.1f,"
           "\"semantic_search_runs\":%d",
           exact_us, loaded.count, load_ms, insert_s, runs);
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        SearchResult sr = search_bench(nvec, sizes[i], runs);
        printf(",\"semantic_search_%" G_GSIZE_FORMAT "d\":{\"ms_p50\":%.2f,\"ms_p99\":%.2f,\"ms_min\":%.2f,"
               "\"float32_scan_ms_p50\":%.2f,\"float32_scan_ms_p99\":%.2f,"
               "\"rescored_mean\":%.1f,\"mismatches\":%d}",
               sizes[i], sr.p50, sr.p99, sr.min, sr.exact_p50, sr.exact_p99, sr.rescored_mean,
               sr.mismatches);
        fflush(stdout);
    }
    printf("}\n");

    gw_cache_store_close(st);
    const char *files[] = {"cache.db", "cache.db-wal", "cache.db-shm"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(dir, files[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
    return 0;
}
