/* cachebench.c — the response cache in isolation (issue #9 items 5 and 6):
 *  - exact hit: key derivation (canonical JSON + SHA-256) and gw_cache_store_get of a live entry
 *    in a temporary cache database, µs per lookup;
 *  - semantic search: gw_vec_index_search (the int8 scan + exact float32 re-rank the gateway
 *    runs) over 100,000 unit vectors of one scope, ms per search (p50, p99) at 384, 768 and
 *    1536 dimensions, the float32 vectors to re-rank fetched from an in-memory array, beside
 *    the plain float32 scan (gw_vec_search), with a check that both return the same row and
 *    similarity on every query; the index's memory (bytes per vector, as counted by the index
 *    and as the process's resident set grew while it was built);
 *  - the same at 1536 dimensions as the gateway runs it: the index loaded from a cache database
 *    of 100,000 vectors (the one-time load, timed) and the re-ranked vectors read back from it
 *    by id (gw_cache_store_vector_get).
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
    double index_bytes;         /* per vector, gw_vec_index_bytes */
    double rss_bytes;           /* per vector, resident set growth while building the index */
} SearchResult;

static void percentiles(double *ms, int runs, double *p50, double *p99)
{
    qsort(ms, (size_t)runs, sizeof(double), cmp_double);
    *p50 = ms[runs / 2];
    *p99 = ms[(runs * 99) / 100];
}

/* Resident set size in bytes (Linux /proc; 0 elsewhere). */
static gint64 rss_bytes(void)
{
    char *text = NULL;
    gint64 kb = 0;
    if (g_file_get_contents("/proc/self/status", &text, NULL, NULL)) {
        const char *l = strstr(text, "\nVmRSS:");
        if (l != NULL)
            kb = g_ascii_strtoll(l + 7, NULL, 10);
    }
    g_free(text);
    return kb * 1024;
}

/* The re-rank's vectors from an array of rows (row i has id i). */
typedef struct {
    const float *mat;
    gsize dims;
} MatFetch;

static gboolean mat_fetch(gpointer user, gsize row, gint64 id, float *out)
{
    const MatFetch *m = user;
    (void)id;
    memcpy(out, m->mat + row * m->dims, m->dims * sizeof(float));
    return TRUE;
}

/* The re-rank's vectors from the cache database, by id (what the gateway does). */
typedef struct {
    GwCacheStore *st;
    gsize dims;
} DbFetch;

static gboolean db_fetch(gpointer user, gsize row, gint64 id, float *out)
{
    const DbFetch *f = user;
    (void)row;
    GError *err = NULL;
    GwStatus gs = gw_cache_store_vector_get(f->st, id, "g", T0 + 1, out, f->dims, &err);
    if (gs != GW_OK)
        die("vector_get", err);
    return TRUE;
}

/* `runs` queries against ix (row i = row i of mat, n rows of dims), half random (no close
 * match: many rows within the quantisation error of the best, the most re-ranking) and half a
 * perturbed copy of a stored row (a hit), each checked against gw_vec_search over mat. Floor -1:
 * the exact best is always wanted. */
static void run_searches(const GwVecIndex *ix, GwVecFetchFn fetch, gpointer user,
                         const float *mat, gsize n, gsize dims, int runs, GRand *r,
                         SearchResult *res)
{
    float *q = g_new(float, dims);
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
        gssize at = gw_vec_index_search(ix, q, -1, fetch, user, &best, &rescored);
        ms[k] = (double)(now_ns() - t) / 1e6;
        t = now_ns();
        gssize eat = gw_vec_search(mat, n, dims, q, &exact);
        ems[k] = (double)(now_ns() - t) / 1e6;
        rescored_sum += rescored;
        if (at != eat || best != exact)
            res->mismatches++;
    }
    percentiles(ms, runs, &res->p50, &res->p99);
    res->min = ms[0];
    percentiles(ems, runs, &res->exact_p50, &res->exact_p99);
    res->rescored_mean = (double)rescored_sum / runs;
    g_free(ms);
    g_free(ems);
    g_free(q);
}

/* n random unit vectors of dims in an index, searched with an in-memory fetch. */
static SearchResult search_bench(gsize n, gsize dims, int runs)
{
    SearchResult res = {0};
    float *mat = g_new(float, n * dims);
    GRand *r = g_rand_new_with_seed(42);
    for (gsize i = 0; i < n; i++) {
        for (gsize k = 0; k < dims; k++)
            mat[i * dims + k] = (float)g_rand_double_range(r, -1, 1);
        gw_vec_normalize(mat + i * dims, dims);
    }
    gint64 rss0 = rss_bytes();
    GwVecIndex *ix = gw_vec_index_new(dims);
    for (gsize i = 0; i < n; i++)
        gw_vec_index_add(ix, (gint64)i, mat + i * dims);
    gw_vec_index_trim(ix);
    res.rss_bytes = (double)(rss_bytes() - rss0) / (double)n;
    res.index_bytes = (double)gw_vec_index_bytes(ix) / (double)n;
    MatFetch mf = {mat, dims};
    run_searches(ix, mat_fetch, &mf, mat, n, dims, runs, r, &res);
    gw_vec_index_free(ix);
    g_rand_free(r);
    g_free(mat);
    return res;
}

/* Loading the database's vectors: into the index (as the gateway does; timed) and then, for
 * the check, into an array in the same order. */
typedef struct {
    GwVecIndex *ix;
    float *mat;
    gsize count, cap, dims;
} Loaded;

static void on_vec(gint64 id, const float *v, gsize dims, gpointer ud)
{
    Loaded *l = ud;
    if (dims == l->dims)
        gw_vec_index_add(l->ix, id, v);
}

static void on_vec_copy(gint64 id, const float *v, gsize dims, gpointer ud)
{
    Loaded *l = ud;
    (void)id;
    if (dims == l->dims && l->count < l->cap)
        memcpy(l->mat + l->count++ * dims, v, dims * sizeof(float));
}

static void print_search(const char *name, const SearchResult *sr, gboolean memory)
{
    printf(",\"%s\":{\"ms_p50\":%.2f,\"ms_p99\":%.2f,\"ms_min\":%.2f,"
           "\"float32_scan_ms_p50\":%.2f,\"float32_scan_ms_p99\":%.2f,"
           "\"rescored_mean\":%.1f,\"mismatches\":%d",
           name, sr->p50, sr->p99, sr->min, sr->exact_p50, sr->exact_p99, sr->rescored_mean,
           sr->mismatches);
    if (memory)
        printf(",\"index_bytes_per_vector\":%.0f,\"rss_bytes_per_vector\":%.0f", sr->index_bytes,
               sr->rss_bytes);
    printf("}");
    fflush(stdout);
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
    /* The one-time load into the index, as a worker does on its first search. */
    Loaded loaded = {.ix = gw_vec_index_new(dims), .mat = g_new(float, nvec * dims), .cap = nvec,
                     .dims = dims};
    tl = now_ns();
    if (gw_cache_store_vectors(st, "g", 0, T0 + 1, on_vec, &loaded, &err) != GW_OK)
        die("vectors", err);
    gw_vec_index_trim(loaded.ix);
    double load_ms = (double)(now_ns() - tl) / 1e6;
    if (gw_cache_store_vectors(st, "g", 0, T0 + 1, on_vec_copy, &loaded, &err) != GW_OK)
        die("vectors", err);
    if (loaded.count != gw_vec_index_len(loaded.ix))
        die("vectors: the two loads differ", NULL);
    g_free(v);

    const gsize sizes[] = {384, 768, 1536};
    const int runs = argc > 3 ? atoi(argv[3]) : 100;
    printf("{\"exact_hit_lookup_us\":%.2f,\"semantic_vectors\":%" G_GSIZE_FORMAT ","
           "\"semantic_load_1536d_ms\":%.1f,\"semantic_insert_1536d_s\":%.1f,"
           "\"semantic_search_runs\":%d",
           exact_us, loaded.count, load_ms, insert_s, runs);
    SearchResult db = {0};
    DbFetch df = {st, dims};
    run_searches(loaded.ix, db_fetch, &df, loaded.mat, loaded.count, dims, runs, r, &db);
    db.index_bytes = (double)gw_vec_index_bytes(loaded.ix) / (double)MAX(loaded.count, 1);
    print_search("semantic_search_1536d_db", &db, FALSE);
    gw_vec_index_free(loaded.ix);
    g_free(loaded.mat);
    g_rand_free(r);
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        char name[64];
        g_snprintf(name, sizeof name, "semantic_search_%" G_GSIZE_FORMAT "d", sizes[i]);
        SearchResult sr = search_bench(nvec, sizes[i], runs);
        print_search(name, &sr, TRUE);
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
