/* test_cache.c — the response cache's pure pieces: canonical JSON and key derivation (order and
 * whitespace insensitive, every field separating keys), semantic groups, canonical prompt text,
 * cache header parsing and validation, Cache-Control lifetimes, and the cosine search. */
#include "config.h"
#include "cache_key.h"
#include "cache_opts.h"
#include "cache_vec.h"

#include <math.h>
#include <string.h>

static json_t *parse(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    g_assert_nonnull(j);
    return j;
}

static void key_of(const char *body, const char *scope, const char *seed, int bucket,
                   char out[GW_CACHE_KEY_HEX_LEN + 1])
{
    json_t *j = body != NULL ? parse(body) : NULL;
    GwCacheKeyInput in = {.scope = scope, .seed = seed, .method = "POST",
                          .path_query = "/v1/chat/completions", .body = j};
    gw_cache_key(&in, bucket, out);
    json_decref(j);
}

static void test_canonical(void)
{
    json_t *a = parse("{\"b\": 1, \"a\": {\"y\": [1, 2], \"x\": \"s\"}}");
    json_t *b = parse("{\"a\":{\"x\":\"s\",\"y\":[1,2]},\"b\":1}");
    char *ca = gw_cache_canonical_json(a), *cb = gw_cache_canonical_json(b);
    g_assert_cmpstr(ca, ==, cb);
    g_assert_cmpstr(ca, ==, "{\"a\":{\"x\":\"s\",\"y\":[1,2]},\"b\":1}");
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
}

static void test_keys(void)
{
    char k1[65], k2[65], k3[65];
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "vk:1", NULL,
           0, k1);
    key_of("{ \"messages\" : [ {\"content\":\"hi\", \"role\":\"user\"} ],\n \"model\":\"m\" }",
           "vk:1", NULL, 0, k2);
    g_assert_cmpstr(k1, ==, k2);
    g_assert_cmpuint(strlen(k1), ==, 64);
    /* Scope, seed, bucket and body each separate keys. */
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "vk:2", NULL,
           0, k3);
    g_assert_cmpstr(k1, !=, k3);
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "vk:1", "s1",
           0, k3);
    g_assert_cmpstr(k1, !=, k3);
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "vk:1", "",
           0, k2);
    g_assert_cmpstr(k1, !=, k2); /* an empty seed is a seed */
    g_assert_cmpstr(k3, !=, k2);
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "vk:1", NULL,
           1, k3);
    g_assert_cmpstr(k1, !=, k3);
    key_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"ho\"}]}", "vk:1", NULL,
           0, k3);
    g_assert_cmpstr(k1, !=, k3);
    /* Field boundaries: "vk:1"+"2" is not "vk:12"+"". */
    key_of(NULL, "vk:12", "", 0, k2);
    key_of(NULL, "vk:1", "2", 0, k3);
    g_assert_cmpstr(k2, !=, k3);
    /* Stream and method and path. */
    json_t *j = parse("{\"a\":1}");
    GwCacheKeyInput in = {.scope = "vk:1", .method = "POST", .path_query = "/v1/x", .body = j};
    gw_cache_key(&in, 0, k1);
    in.stream = TRUE;
    gw_cache_key(&in, 0, k2);
    g_assert_cmpstr(k1, !=, k2);
    in.stream = FALSE;
    in.path_query = "/v1/x?a=1";
    gw_cache_key(&in, 0, k2);
    g_assert_cmpstr(k1, !=, k2);
    in.path_query = "/v1/x";
    in.method = "GET";
    gw_cache_key(&in, 0, k2);
    g_assert_cmpstr(k1, !=, k2);
    /* Raw bodies (non-JSON) hash their bytes. */
    in.method = "POST";
    in.body = NULL;
    in.raw_body = "{\"a\":1}";
    in.raw_len = 7;
    gw_cache_key(&in, 0, k2);
    g_assert_cmpstr(k1, !=, k2);
    json_decref(j);

    char s1[65], s2[65];
    gw_cache_seed_hash("abc", s1);
    gw_cache_seed_hash("abd", s2);
    g_assert_cmpstr(s1, !=, s2);
    gw_cache_seed_hash(NULL, s2);
    g_assert_cmpstr(s1, !=, s2);
}

static void test_semantic_group(void)
{
    json_t *a = parse("{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\","
                      "\"content\":\"a\"}]}");
    json_t *b = parse("{\"temperature\":0,\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"something else\"}]}");
    json_t *c = parse("{\"temperature\":1,\"model\":\"m\",\"messages\":[]}");
    GwCacheKeyInput in = {.scope = "vk:1", .method = "POST", .path_query = "/v1/chat/completions"};
    char ga[65], gb[65], gc[65], gd[65];
    in.body = a;
    gw_cache_semantic_group(&in, "emb", ga);
    in.body = b;
    gw_cache_semantic_group(&in, "emb", gb);
    in.body = c;
    gw_cache_semantic_group(&in, "emb", gc);
    in.body = a;
    gw_cache_semantic_group(&in, "emb2", gd);
    g_assert_cmpstr(ga, ==, gb);
    g_assert_cmpstr(ga, !=, gc);
    g_assert_cmpstr(ga, !=, gd);
    /* The group did not change the body. */
    g_assert_nonnull(json_object_get(a, "messages"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_prompt_text(void)
{
    json_t *b = parse("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be "
                      "brief.\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                      "\"Hi\"}]}]}");
    char *t = gw_cache_prompt_text(b);
    g_assert_cmpstr(t, ==, "system: Be brief.\nuser: [{\"text\":\"Hi\",\"type\":\"text\"}]\n");
    g_free(t);
    json_decref(b);
    b = parse("{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    t = gw_cache_prompt_text(b);
    g_assert_cmpstr(t, ==, "system: S\nuser: x\n");
    g_free(t);
    json_decref(b);
    b = parse("{\"input\":\"hello\"}");
    t = gw_cache_prompt_text(b);
    g_assert_cmpstr(t, ==, "hello");
    g_free(t);
    json_decref(b);
    b = parse("{\"model\":\"m\"}");
    g_assert_null(gw_cache_prompt_text(b));
    json_decref(b);
    g_assert_null(gw_cache_prompt_text(NULL));
    /* Roles matter. */
    json_t *u = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    json_t *a = parse("{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}");
    char *tu = gw_cache_prompt_text(u), *ta = gw_cache_prompt_text(a);
    g_assert_cmpstr(tu, !=, ta);
    g_free(tu);
    g_free(ta);
    json_decref(u);
    json_decref(a);
}

static void add(GPtrArray *h, const char *name, const char *value)
{
    GwHeader *x = g_new(GwHeader, 1);
    x->name = g_strdup(name);
    x->value = g_strdup(value);
    g_ptr_array_add(h, x);
}

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static GwStatus opts_for(GwCacheOpts *o, GError **err, ...)
{
    GPtrArray *h = g_ptr_array_new_with_free_func(header_free);
    va_list ap;
    va_start(ap, err);
    const char *n;
    while ((n = va_arg(ap, const char *)) != NULL)
        add(h, n, va_arg(ap, const char *));
    va_end(ap);
    GwStatus st = gw_cache_opts_parse(h, o, err);
    g_ptr_array_unref(h);
    return st;
}

static void test_opts(void)
{
    GwCacheOpts o;
    GError *err = NULL;
    g_assert_cmpint(opts_for(&o, &err, NULL), ==, GW_OK);
    g_assert_false(o.read || o.save);
    gw_cache_opts_clear(&o);

    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "TRUE", NULL), ==, GW_OK);
    g_assert_true(o.read && o.save);
    g_assert_cmpint(o.buckets, ==, 1);
    g_assert_cmpint(o.ttl_s, ==, GW_CACHE_DEFAULT_TTL_S);
    g_assert_cmpfloat(o.threshold, ==, 0.95);
    gw_cache_opts_clear(&o);

    const char *off[] = {"yes", "1", "on", "", "truee", "false"};
    for (guint i = 0; i < G_N_ELEMENTS(off); i++) {
        g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", off[i], NULL), ==, GW_OK);
        g_assert_false(o.read || o.save);
        gw_cache_opts_clear(&o);
    }
    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-read", "true", NULL), ==, GW_OK);
    g_assert_true(o.read && !o.save);
    gw_cache_opts_clear(&o);
    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-save", "True", NULL), ==, GW_OK);
    g_assert_true(!o.read && o.save);
    gw_cache_opts_clear(&o);

    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "true",
                             "alephant-cache-bucket-max-size", "20", "alephant-cache-seed", "s",
                             "alephant-cache-control", "max-age=60", NULL), ==, GW_OK);
    g_assert_cmpint(o.buckets, ==, 20);
    g_assert_cmpstr(o.seed, ==, "s");
    g_assert_cmpint(o.ttl_s, ==, 60);
    gw_cache_opts_clear(&o);

    const char *bad_buckets[] = {"0", "21", "-1", "x", "3.0", ""};
    for (guint i = 0; i < G_N_ELEMENTS(bad_buckets); i++) {
        g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "true",
                                 "alephant-cache-bucket-max-size", bad_buckets[i], NULL), ==,
                        GW_EINVAL);
        g_assert_nonnull(strstr(err->message, "Alephant-Cache-Bucket-Max-Size"));
        g_clear_error(&err);
    }
    /* Not validated when the cache is off. */
    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-bucket-max-size", "99", NULL), ==, GW_OK);
    gw_cache_opts_clear(&o);

    const char *bad_thr[] = {"0", "1.01", "-0.5", "nan", "inf", "0.9x", ""};
    for (guint i = 0; i < G_N_ELEMENTS(bad_thr); i++) {
        g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "true",
                                 "alephant-cache-semantic-threshold", bad_thr[i], NULL), ==,
                        GW_EINVAL);
        g_assert_nonnull(strstr(err->message, "Alephant-Cache-Semantic-Threshold"));
        g_clear_error(&err);
    }
    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "true",
                             "alephant-cache-semantic-threshold", "1",
                             "alephant-embeddings-model", "text-embedding-3-small",
                             "alephant-cache-ttl", "120", NULL), ==, GW_OK);
    g_assert_cmpfloat(o.threshold, ==, 1.0);
    g_assert_cmpstr(o.emb_model, ==, "text-embedding-3-small");
    g_assert_cmpint(o.ttl_s, ==, 120);
    gw_cache_opts_clear(&o);
    g_assert_cmpint(opts_for(&o, &err, "alephant-cache-enabled", "true", "alephant-cache-ttl",
                             "soon", NULL), ==, GW_EINVAL);
    g_clear_error(&err);
}

static void check_ttl(const char *v, gint64 want)
{
    gint64 got = -1;
    GError *err = NULL;
    g_assert_cmpint(gw_cache_control_ttl(v, &got, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(got, ==, want);
}

static void test_cache_control(void)
{
    check_ttl(NULL, GW_CACHE_DEFAULT_TTL_S);
    check_ttl("", GW_CACHE_DEFAULT_TTL_S);
    check_ttl("public", GW_CACHE_DEFAULT_TTL_S);
    check_ttl("max-age=10", 10);
    check_ttl("max-age=10, s-maxage=20", 20);
    check_ttl("s-maxage=20, max-age=10", 20);
    check_ttl("S-MAXAGE = 5", 5);
    check_ttl("max-age=\"30\"", 30);
    check_ttl("max-age=0", 0);
    check_ttl("max-age=999999999999999999999999", GW_CACHE_MAX_TTL_S);
    check_ttl("max-age=31536001", GW_CACHE_MAX_TTL_S);
    const char *bad[] = {"max-age", "max-age=", "max-age=-1", "max-age=1.5", "s-maxage=x"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        gint64 got = -1;
        GError *err = NULL;
        g_assert_cmpint(gw_cache_control_ttl(bad[i], &got, &err), ==, GW_EINVAL);
        g_assert_nonnull(strstr(err->message, "Alephant-Cache-Control"));
        g_error_free(err);
    }
}

static void test_vec(void)
{
    float v[3] = {3, 4, 0};
    g_assert_true(gw_vec_normalize(v, 3));
    g_assert_cmpfloat_with_epsilon(v[0], 0.6, 1e-6);
    float z[2] = {0, 0};
    g_assert_false(gw_vec_normalize(z, 2));

    /* 1000 random unit vectors of 37 dims (not a multiple of 8): the search finds a planted
     * near-copy with the similarity a direct dot product gives. */
    enum { N = 1000, D = 37 };
    float *mat = g_new(float, N * D), q[D];
    GRand *r = g_rand_new_with_seed(7);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < D; k++)
            mat[i * D + k] = (float)g_rand_double_range(r, -1, 1);
        gw_vec_normalize(mat + i * D, D);
    }
    for (int k = 0; k < D; k++)
        q[k] = mat[613 * D + k] + (float)g_rand_double_range(r, -0.01, 0.01);
    gw_vec_normalize(q, D);
    float best = 0;
    g_assert_cmpint(gw_vec_search(mat, N, D, q, &best), ==, 613);
    g_assert_cmpfloat_with_epsilon(best, gw_vec_dot(mat + 613 * D, q, D), 1e-6);
    g_assert_cmpfloat(best, >, 0.99);
    g_assert_cmpfloat(best, <=, 1.0001);
    g_assert_cmpint(gw_vec_search(mat, 0, D, q, &best), ==, -1);
    g_rand_free(r);
    g_free(mat);

    json_t *arr = parse("[1, 0, 0, 1]");
    float *out = NULL;
    gsize n = 0;
    g_assert_cmpint(gw_vec_from_json(arr, &out, &n, NULL), ==, GW_OK);
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpfloat_with_epsilon(out[0], 1 / sqrt(2), 1e-6);
    g_free(out);
    json_decref(arr);
    const char *bad[] = {"[]", "[0,0]", "[1,\"x\"]", "{}", "[1e300]"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        arr = parse(bad[i]);
        GError *err = NULL;
        g_assert_cmpint(gw_vec_from_json(arr, &out, &n, &err), ==, GW_EINVAL);
        g_error_free(err);
        json_decref(arr);
    }
}

static void random_unit(GRand *r, float *v, gsize d)
{
    for (gsize k = 0; k < d; k++)
        v[k] = (float)g_rand_double_range(r, -1, 1);
    gw_vec_normalize(v, d);
}

/* The float32 rows a test index was built from, handed back by row as the cache database hands
 * them back by id. Rows marked gone are not found; rows marked changed come back as another
 * vector (an id reused by a different entry). Counts the fetches, and that no row is fetched
 * twice in one search. */
typedef struct {
    const float *mat;
    gsize n, dims;
    gint64 id_base;
    gboolean *gone, *changed;
    guint8 *seen;
    gsize calls;
} MatFetch;

static gboolean mat_fetch(gpointer user, gsize row, gint64 id, float *out)
{
    MatFetch *m = user;
    g_assert_cmpuint(row, <, m->n);
    g_assert_cmpint(id, ==, m->id_base + (gint64)row);
    g_assert_cmpuint(m->seen[row], ==, 0);
    m->seen[row] = 1;
    m->calls++;
    if (m->gone != NULL && m->gone[row])
        return FALSE;
    memcpy(out, m->mat + row * m->dims, m->dims * sizeof(float));
    if (m->changed != NULL && m->changed[row])
        out[0] += 0.25f; /* another vector under the same id */
    return TRUE;
}

static void mat_fetch_init(MatFetch *m, const float *mat, gsize n, gsize d)
{
    *m = (MatFetch){.mat = mat, .n = n, .dims = d, .id_base = 1000, .seen = g_new0(guint8, n)};
}

static gssize search(GwVecIndex *ix, MatFetch *m, const float *q, float floor, float *sim,
                     gsize *rescored)
{
    memset(m->seen, 0, m->n);
    m->calls = 0;
    return gw_vec_index_search(ix, q, floor, mat_fetch, m, sim, rescored);
}

/* gw_vec_search over the rows not excluded (same first-index rule). */
static gssize search_except(const float *mat, gsize n, gsize d, const float *q,
                            const gboolean *excluded, float *best)
{
    gssize at = -1;
    float top = -2.0f;
    for (gsize r = 0; r < n; r++) {
        float s = gw_vec_dot(mat + r * d, q, d);
        if (!excluded[r] && s > top) {
            top = s;
            at = (gssize)r;
        }
    }
    *best = top;
    return at;
}

static GwVecIndex *index_of(const float *mat, gsize n, gsize d, gint64 id_base)
{
    GwVecIndex *ix = gw_vec_index_new(d);
    for (gsize i = 0; i < n; i++)
        gw_vec_index_add(ix, id_base + (gint64)i, mat + i * d);
    return ix;
}

/* The quantised index answers exactly what the float32 brute-force search answers: the same
 * row and the same similarity, on random rows (where many rows are within the quantisation
 * error of the best) and on planted near-copies, at sizes that are and are not multiples of
 * the scan's block. Only the rows re-ranked are fetched, each once. */
static void test_vec_index_random(void)
{
    const gsize dims[] = {1, 37, 64, 100, 384, 1536};
    GRand *r = g_rand_new_with_seed(11);
    for (guint t = 0; t < G_N_ELEMENTS(dims); t++) {
        gsize d = dims[t], n = d >= 1536 ? 600 : 1500;
        float *mat = g_new(float, n * d), *q = g_new(float, d);
        GwVecIndex *ix = gw_vec_index_new(d);
        g_assert_cmpuint(gw_vec_index_dims(ix), ==, d);
        MatFetch m;
        mat_fetch_init(&m, mat, n, d);
        float sim = 0;
        random_unit(r, q, d);
        g_assert_cmpint(search(ix, &m, q, -1, &sim, NULL), ==, -1);
        for (gsize i = 0; i < n; i++) {
            random_unit(r, mat + i * d, d);
            gw_vec_index_add(ix, 1000 + (gint64)i, mat + i * d);
        }
        g_assert_cmpuint(gw_vec_index_len(ix), ==, n);
        for (gsize i = 0; i < n; i += 97)
            g_assert_cmpint(gw_vec_index_id(ix, i), ==, 1000 + (gint64)i);
        gsize rescored_total = 0;
        for (int k = 0; k < 20; k++) {
            if (k % 2 == 0) {
                random_unit(r, q, d);
            } else {
                gsize planted = (gsize)g_rand_int_range(r, 0, (gint32)n);
                for (gsize i = 0; i < d; i++)
                    q[i] = mat[planted * d + i] + (float)g_rand_double_range(r, -0.02, 0.02);
                gw_vec_normalize(q, d);
            }
            float want = 0;
            gssize at = gw_vec_search(mat, n, d, q, &want);
            gsize rescored = 0;
            g_assert_cmpint(search(ix, &m, q, -1, &sim, &rescored), ==, at);
            g_assert_true(sim == want);
            g_assert_cmpuint(rescored, >=, 1);
            g_assert_cmpuint(m.calls, ==, rescored);
            rescored_total += rescored;
            /* The floor: at the best similarity it is found, just above it nothing is. */
            g_assert_cmpint(search(ix, &m, q, want, &sim, NULL), ==, at);
            g_assert_cmpint(search(ix, &m, q, nextafterf(want, 2.0f), &sim, NULL), ==, -1);
            /* A floor no row can reach leaves nothing to re-rank (or fetch). */
            g_assert_cmpint(search(ix, &m, q, 1.5f, &sim, &rescored), ==, -1);
            g_assert_cmpuint(rescored, ==, 0);
            g_assert_cmpuint(m.calls, ==, 0);
        }
        /* The scan did prune: far fewer rows re-ranked than searched. */
        if (d >= 64)
            g_assert_cmpuint(rescored_total, <, 20 * n / 4);
        gw_vec_index_free(ix);
        g_free(m.seen);
        g_free(mat);
        g_free(q);
    }
    g_rand_free(r);
}

/* Rows whose vector has gone from the database since they were indexed (evicted, purged,
 * expired), or whose id now holds another vector, are no match: the result is then exactly the
 * brute-force best of the other rows. The best row and the runners-up are removed in turn, so
 * the row whose lower bound set the scan's cut is among them. */
static void test_vec_index_gone(void)
{
    const gsize dims[] = {37, 384};
    GRand *r = g_rand_new_with_seed(23);
    for (guint t = 0; t < G_N_ELEMENTS(dims); t++) {
        gsize d = dims[t], n = 1200;
        float *mat = g_new(float, n * d), *q = g_new(float, d);
        for (gsize i = 0; i < n; i++)
            random_unit(r, mat + i * d, d);
        GwVecIndex *ix = index_of(mat, n, d, 1000);
        gboolean *gone = g_new0(gboolean, n), *changed = g_new0(gboolean, n);
        MatFetch m;
        mat_fetch_init(&m, mat, n, d);
        for (int k = 0; k < 16; k++) {
            gsize planted = (gsize)g_rand_int_range(r, 0, (gint32)n);
            for (gsize i = 0; i < d; i++)
                q[i] = k % 2 == 0 ? (float)g_rand_double_range(r, -1, 1)
                                  : mat[planted * d + i] + (float)g_rand_double_range(r, -0.05, 0.05);
            gw_vec_normalize(q, d);
            memset(gone, 0, n * sizeof *gone);
            memset(changed, 0, n * sizeof *changed);
            /* Remove the best, then the next best, …: up to 6 rows, gone or changed. */
            for (int removed = 0; removed <= 6; removed++) {
                gboolean *excluded = g_new(gboolean, n);
                for (gsize i = 0; i < n; i++)
                    excluded[i] = gone[i] || changed[i];
                float want = 0, sim = 0;
                gssize at = search_except(mat, n, d, q, excluded, &want);
                g_free(excluded);
                m.gone = gone;
                m.changed = changed;
                g_assert_cmpint(search(ix, &m, q, -1, &sim, NULL), ==, at);
                g_assert_true(sim == want);
                /* With a floor at that similarity the same; above it nothing. */
                g_assert_cmpint(search(ix, &m, q, want, &sim, NULL), ==, at);
                g_assert_cmpint(search(ix, &m, q, nextafterf(want, 2.0f), &sim, NULL), ==, -1);
                if (removed % 2 == 0)
                    gone[at] = TRUE;
                else
                    changed[at] = TRUE;
            }
        }
        /* Every vector gone: nothing matches, each row fetched at most once. */
        for (gsize i = 0; i < n; i++)
            gone[i] = TRUE;
        float sim = 0;
        random_unit(r, q, d);
        g_assert_cmpint(search(ix, &m, q, -1, &sim, NULL), ==, -1);
        g_assert_cmpuint(m.calls, ==, n);
        g_assert_cmpint(search(ix, &m, q, 0.9f, &sim, NULL), ==, -1);
        gw_vec_index_free(ix);
        g_free(gone);
        g_free(changed);
        g_free(m.seen);
        g_free(mat);
        g_free(q);
    }
    g_rand_free(r);
}

/* The index keeps dims + 16 bytes a vector (int8 row, scale, bound, id) once trimmed, and
 * never more than one block's spare rows before; it stays exact across blocks and after a
 * trim, and adds after a trim go on. */
static void test_vec_index_memory(void)
{
    const gsize dims[] = {1, 100, 1536};
    GRand *r = g_rand_new_with_seed(3);
    for (guint t = 0; t < G_N_ELEMENTS(dims); t++) {
        gsize d = dims[t], n = 2500; /* over two blocks of rows */
        float *mat = g_new(float, (n + 1) * d), *q = g_new(float, d);
        GwVecIndex *ix = gw_vec_index_new(d);
        gsize empty = gw_vec_index_bytes(ix), row = d + 16;
        g_assert_cmpuint(empty, <, 256);
        for (gsize i = 0; i < n; i++) {
            random_unit(r, mat + i * d, d);
            gw_vec_index_add(ix, 1000 + (gint64)i, mat + i * d);
            if (i == 0)
                g_assert_cmpuint(gw_vec_index_bytes(ix), <=, empty + 256 + 16 * row);
        }
        g_assert_cmpuint(gw_vec_index_bytes(ix), <=, empty + 256 + (n + 1024) * row);
        gw_vec_index_trim(ix);
        g_assert_cmpuint(gw_vec_index_bytes(ix), <=, empty + 256 + n * row);
        g_assert_cmpuint(gw_vec_index_bytes(ix), >=, n * row);
        random_unit(r, mat + n * d, d);
        gw_vec_index_add(ix, 1000 + (gint64)n, mat + n * d);
        g_assert_cmpuint(gw_vec_index_len(ix), ==, n + 1);
        g_assert_cmpint(gw_vec_index_id(ix, n), ==, 1000 + (gint64)n);
        MatFetch m;
        mat_fetch_init(&m, mat, n + 1, d);
        const gsize planted[] = {0, 1023, 1024, 2047, 2048, n - 1, n};
        for (guint i = 0; i < G_N_ELEMENTS(planted); i++) {
            memcpy(q, mat + planted[i] * d, d * sizeof(float));
            float want = 0, sim = 0;
            gssize at = gw_vec_search(mat, n + 1, d, q, &want);
            g_assert_cmpint(search(ix, &m, q, -1, &sim, NULL), ==, at);
            g_assert_true(sim == want);
            if (d > 1)
                g_assert_cmpint(at, ==, (gssize)planted[i]);
        }
        gw_vec_index_free(ix);
        g_free(m.seen);
        g_free(mat);
        g_free(q);
    }
    g_rand_free(r);
}

/* Near-ties the int8 copy cannot tell apart (rows that differ far below one quantisation step,
 * exact duplicates): the float32 re-rank decides, with the first-row rule of gw_vec_search. */
static void test_vec_index_near_ties(void)
{
    enum { N = 200, D = 256 };
    GRand *r = g_rand_new_with_seed(5);
    float *mat = g_new(float, N * D), base[D], q[D];
    random_unit(r, base, D);
    GwVecIndex *ix = gw_vec_index_new(D);
    for (int i = 0; i < N; i++) {
        float *row = mat + i * D;
        if (i % 10 == 9) {
            memcpy(row, mat + (i - 1) * D, sizeof base); /* an exact duplicate of the previous */
        } else {
            for (int k = 0; k < D; k++)
                row[k] = base[k] + (float)g_rand_double_range(r, -1e-4, 1e-4);
            gw_vec_normalize(row, D);
        }
        gw_vec_index_add(ix, 1000 + i, row);
    }
    MatFetch m;
    mat_fetch_init(&m, mat, N, D);
    for (int t = 0; t < 50; t++) {
        /* Close to one of the rows (often one with a duplicate after it), or to the base. */
        const float *near = t % 2 == 0 ? base : mat + (gsize)g_rand_int_range(r, 0, N) * D;
        for (int k = 0; k < D; k++)
            q[k] = near[k] + (float)g_rand_double_range(r, -2e-5, 2e-5);
        gw_vec_normalize(q, D);
        float want = 0, sim = 0;
        gssize at = gw_vec_search(mat, N, D, q, &want);
        gsize rescored = 0;
        g_assert_cmpint(search(ix, &m, q, 0.5f, &sim, &rescored), ==, at);
        g_assert_true(sim == want);
        g_assert_cmpuint(rescored, >, 1); /* the int8 scan alone could not decide */
        g_assert_true(at % 10 != 9);       /* of two equal rows, the first */
    }
    gw_vec_index_free(ix);
    g_free(m.seen);
    g_free(mat);
    g_rand_free(r);
}

/* The largest vectors with every component equal (the worst case for the integer sums) do not
 * overflow (UBSan would report it) and score exactly; a row that is not a unit vector is
 * normalised on the way in, and its fetched vector (as stored, not normalised) is normalised the
 * same way before it is compared and scored. */
static void test_vec_index_extremes(void)
{
    enum { D = GW_VEC_MAX_DIMS };
    float *both = g_new(float, 2 * D), *alt = both, *flat = both + D;
    for (int k = 0; k < D; k++) {
        flat[k] = 1.0f / sqrtf((float)D);
        alt[k] = k % 2 == 0 ? flat[k] : -flat[k];
    }
    GwVecIndex *ix = index_of(both, 2, D, 1000);
    MatFetch m;
    mat_fetch_init(&m, both, 2, D);
    float sim = 0;
    g_assert_cmpint(search(ix, &m, flat, 0.99f, &sim, NULL), ==, 1);
    g_assert_cmpfloat_with_epsilon(sim, 1.0, 1e-5);
    g_assert_cmpint(search(ix, &m, alt, -1, &sim, NULL), ==, 0);
    gw_vec_index_free(ix);
    g_free(m.seen);
    g_free(both);

    float big[3] = {30, 40, 0}, unit[3] = {0.6f, 0.8f, 0};
    ix = index_of(big, 1, 3, 1000);
    mat_fetch_init(&m, big, 1, 3);
    g_assert_cmpint(search(ix, &m, unit, 0.999f, &sim, NULL), ==, 0);
    g_assert_cmpfloat_with_epsilon(sim, 1.0, 1e-6);
    gw_vec_index_free(ix);
    g_free(m.seen);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cache/canonical", test_canonical);
    g_test_add_func("/cache/keys", test_keys);
    g_test_add_func("/cache/semantic_group", test_semantic_group);
    g_test_add_func("/cache/prompt_text", test_prompt_text);
    g_test_add_func("/cache/opts", test_opts);
    g_test_add_func("/cache/cache_control", test_cache_control);
    g_test_add_func("/cache/vec", test_vec);
    g_test_add_func("/cache/vec_index_random", test_vec_index_random);
    g_test_add_func("/cache/vec_index_gone", test_vec_index_gone);
    g_test_add_func("/cache/vec_index_memory", test_vec_index_memory);
    g_test_add_func("/cache/vec_index_near_ties", test_vec_index_near_ties);
    g_test_add_func("/cache/vec_index_extremes", test_vec_index_extremes);
    return g_test_run();
}
