/* cache_vec.c — vector arithmetic for the semantic cache.
 *
 * The search is brute force: it needs no index structure to keep consistent. A float32 scan of
 * 100,000 vectors of 1536 dimensions reads 600 MB and is memory-bound (≈ 27 ms here), so
 * GwVecIndex scans an int8 copy (150 MB) against an int16 query with integer arithmetic (exact,
 * associative: the compiler vectorises it at -O2 because the inner loop has a constant trip
 * count over zero-padded rows — pmaddwd on x86-64's baseline SSE2), then re-ranks in float32.
 *
 * Why the result is exact. For a row r (unit) stored as r' = k·inv (k int8) and the query q as
 * q' = j·qinv (j int16), the scan computes r'·q'. |r'·q' − r·q| ≤ |(r'−r)·q'| + |r·(q'−q)|
 *   ≤ ‖r'−r‖·‖q'‖ + ‖r‖·‖q'−q‖,
 * where ‖r'−r‖ is measured when the row is added and ‖q'−q‖ when the query is quantised; a
 * constant slack covers the float32 rounding of both the approximation and the float32 dot
 * product it is compared with. So every row's exact cosine lies in [approx − bound, approx +
 * bound]; the exact best is at least the largest lower bound, and only rows whose upper bound
 * reaches it (and the caller's floor) can be the best: those are re-ranked with gw_vec_dot, in
 * descending order of upper bound until none can beat the best found.
 *
 * No overflow: every partial sum of k_i·j_i is at most 127·Σ|j_i|, and the query's scale is
 * chosen so that this stays below 2^31.
 *
 * gw_vec_dot keeps eight independent partial sums so the compiler can keep them in vector
 * registers without reassociating floating-point additions (which it may not do without
 * -ffast-math). */
#include "config.h"
#include "cache_vec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* int8 rows are padded to a multiple of this; the inner loop of the scan runs exactly this
 * many times, which lets -O2 vectorise it completely. */
#define QBLK 64
/* Covers float32 rounding: of the exact dot product (8 partial sums over at most 8192/8
 * terms of total magnitude ≤ 1: ≤ 1024 · 2^-24 ≈ 6e-5) and of the scaled integer dot. */
#define BOUND_SLACK 1e-4f

gboolean gw_vec_normalize(float *v, gsize n)
{
    double sum = 0;
    for (gsize i = 0; i < n; i++)
        sum += (double)v[i] * (double)v[i];
    if (!(sum > 0) || !isfinite(sum))
        return FALSE;
    double inv = 1.0 / sqrt(sum);
    for (gsize i = 0; i < n; i++)
        v[i] = (float)((double)v[i] * inv);
    return TRUE;
}

float gw_vec_dot(const float *restrict a, const float *restrict b, gsize n)
{
    float s[8] = { 0 };
    gsize i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += a[i + k] * b[i + k];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++)
        t += a[i] * b[i];
    return t;
}

gssize gw_vec_search(const float *restrict mat, gsize count, gsize dims, const float *restrict q,
                     float *best)
{
    gssize at = -1;
    float top = -2.0f;
    for (gsize r = 0; r < count; r++) {
        float d = gw_vec_dot(mat + r * dims, q, dims);
        if (d > top) {
            top = d;
            at = (gssize)r;
        }
    }
    *best = top;
    return at;
}

/* ---- the quantised index ---- */

struct GwVecIndex {
    gsize dims;
    gsize pdims;     /* dims rounded up to QBLK */
    GArray *f32;     /* float, dims per row */
    GArray *q8;      /* gint8, pdims per row (zero padding) */
    GArray *inv;     /* float per row: r' = k · inv */
    GArray *err;     /* float per row: ≥ ‖r' − r‖ */
};

GwVecIndex *gw_vec_index_new(gsize dims)
{
    g_return_val_if_fail(dims > 0 && dims <= GW_VEC_MAX_DIMS, NULL);
    GwVecIndex *ix = g_new0(GwVecIndex, 1);
    ix->dims = dims;
    ix->pdims = (dims + QBLK - 1) / QBLK * QBLK;
    ix->f32 = g_array_new(FALSE, FALSE, sizeof(float));
    ix->q8 = g_array_new(FALSE, FALSE, sizeof(gint8));
    ix->inv = g_array_new(FALSE, FALSE, sizeof(float));
    ix->err = g_array_new(FALSE, FALSE, sizeof(float));
    return ix;
}

void gw_vec_index_free(GwVecIndex *ix)
{
    if (ix == NULL)
        return;
    g_array_unref(ix->f32);
    g_array_unref(ix->q8);
    g_array_unref(ix->inv);
    g_array_unref(ix->err);
    g_free(ix);
}

gsize gw_vec_index_dims(const GwVecIndex *ix)
{
    return ix->dims;
}

gsize gw_vec_index_len(const GwVecIndex *ix)
{
    return ix->inv->len;
}

static float max_abs(const float *v, gsize n)
{
    float m = 0;
    for (gsize i = 0; i < n; i++)
        m = MAX(m, fabsf(v[i]));
    return m;
}

/* Rounds x·scale to the nearest integer in [-lim, lim] and returns it, adding the squared
 * error of the dequantised value (k · inv) to *e2. */
static long quantise(float x, double scale, double inv, long lim, double *e2)
{
    long k = lrint((double)x * scale);
    k = CLAMP(k, -lim, lim);
    double d = (double)k * inv - (double)x;
    *e2 += d * d;
    return k;
}

/* An error norm rounded up, so the bound built from it is never too small. */
static float round_up(double e2)
{
    return (float)(sqrt(e2) * (1.0 + 1e-6) + 1e-7);
}

void gw_vec_index_add(GwVecIndex *ix, const float *v)
{
    gsize d = ix->dims, p = ix->pdims;
    guint row = ix->inv->len;
    g_array_append_vals(ix->f32, v, (guint)d);
    float *f = &g_array_index(ix->f32, float, (gsize)row * d);
    /* Kept as given when it is a unit vector (so the exact cosine is the caller's), else
     * normalised: the bound below assumes ‖r‖ ≤ 1.001. */
    float norm = sqrtf(gw_vec_dot(f, f, d));
    if (!(fabsf(norm - 1.0f) <= 1e-3f) && !gw_vec_normalize(f, d))
        memset(f, 0, d * sizeof(float)); /* no direction: matches nothing above 0 */
    g_array_set_size(ix->q8, (guint)((gsize)(row + 1) * p));
    gint8 *k = &g_array_index(ix->q8, gint8, (gsize)row * p);
    memset(k, 0, p);
    float m = max_abs(f, d);
    float inv = 0, err = 0;
    if (m > 0) {
        inv = m / 127.0f;
        double e2 = 0;
        for (gsize i = 0; i < d; i++)
            k[i] = (gint8)quantise(f[i], 1.0 / (double)inv, (double)inv, 127, &e2);
        err = round_up(e2);
    }
    g_array_append_val(ix->inv, inv);
    g_array_append_val(ix->err, err);
}

/* The query as int16 (p entries, zero-padded) with its scale and error norm. The scale keeps
 * 127 · Σ|j_i| below 2^31 so no partial sum of the scan can overflow. */
static void quantise_query(const float *q, gsize d, gsize p, gint16 *j, float *qinv, float *qerr)
{
    memset(j, 0, p * sizeof *j);
    double l1 = 0;
    for (gsize i = 0; i < d; i++)
        l1 += fabs((double)q[i]);
    float m = max_abs(q, d);
    *qinv = 0;
    *qerr = 0;
    if (!(m > 0) || !isfinite(l1))
        return;
    double scale = 32767.0 / (double)m;
    double cap = ((double)INT32_MAX / 127.0 - 0.5 * (double)d - 1.0) / l1;
    scale = MIN(scale, cap);
    float inv = (float)(1.0 / scale);
    double e2 = 0;
    for (gsize i = 0; i < d; i++)
        j[i] = (gint16)quantise(q[i], 1.0 / (double)inv, (double)inv, 32767, &e2);
    *qinv = inv;
    *qerr = round_up(e2);
}

/* x86-64 with GCC or Clang and ELF ifuncs: the scan is also compiled for AVX2 (x86-64-v3) and
 * the best version is picked once at load time from the CPU's features; the C is the same and
 * every other CPU runs the baseline build. Elsewhere, plain C. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(GW_NO_TARGET_CLONES)
#define SCAN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef SCAN_CLONES
#define SCAN_CLONES
#endif

/* Integer dot products of every row with the query, scaled to cosines. The inner loop has a
 * constant trip count (QBLK) and integer sums, so it vectorises at -O2 (pmaddwd on SSE2). */
SCAN_CLONES static void scan(const gint8 *restrict m, const float *restrict inv, gsize count, gsize p,
                 const gint16 *restrict j, float qinv, float *restrict out)
{
    for (gsize r = 0; r < count; r++) {
        const gint8 *a = m + r * p;
        int32_t t = 0;
        for (gsize i = 0; i < p; i += QBLK) {
            int32_t u = 0;
            for (int k = 0; k < QBLK; k++)
                u += (int16_t)a[i + k] * j[i + k];
            t += u;
        }
        out[r] = (float)t * (inv[r] * qinv);
    }
}

typedef struct {
    float ub;
    guint32 row;
} Candidate;

static int by_upper_bound(const void *a, const void *b)
{
    const Candidate *x = a, *y = b;
    if (x->ub != y->ub)
        return x->ub > y->ub ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

gssize gw_vec_index_search(const GwVecIndex *ix, const float *q, float floor, float *sim,
                           gsize *rescored)
{
    gsize n = gw_vec_index_len(ix), d = ix->dims, p = ix->pdims;
    if (rescored != NULL)
        *rescored = 0;
    *sim = -2.0f;
    if (n == 0)
        return -1;
    gint16 *j = g_new(gint16, p);
    float qinv, qerr;
    quantise_query(q, d, p, j, &qinv, &qerr);
    float qnorm = sqrtf(gw_vec_dot(q, q, d));
    float *approx = g_new(float, n);
    const float *inv = (const float *)(void *)ix->inv->data;
    const float *err = (const float *)(void *)ix->err->data;
    scan((const gint8 *)ix->q8->data, inv, n, p, j, qinv, approx);
    g_free(j);

    /* bound_r = ‖r'−r‖·‖q'‖ + ‖r‖·‖q'−q‖ + slack, with ‖r‖ ≤ 1.001 (see add). */
    float qn = qnorm + qerr, qe = qerr * 1.001f + BOUND_SLACK;
    float lower = -INFINITY;
    for (gsize r = 0; r < n; r++)
        lower = MAX(lower, approx[r] - (err[r] * qn + qe));
    float cut = MAX(lower, floor);
    GArray *cand = g_array_new(FALSE, FALSE, sizeof(Candidate));
    for (gsize r = 0; r < n; r++) {
        float ub = approx[r] + (err[r] * qn + qe);
        if (ub >= cut) {
            Candidate c = {ub, (guint32)r};
            g_array_append_val(cand, c);
        }
    }
    g_free(approx);
    if (cand->len > 1) /* an empty GArray's data may be NULL, which qsort may not be given */
        qsort(cand->data, cand->len, sizeof(Candidate), by_upper_bound);
    const float *f = (const float *)(void *)ix->f32->data;
    gssize best = -1;
    float top = -INFINITY;
    gsize done = 0;
    for (guint i = 0; i < cand->len; i++) {
        const Candidate *c = &g_array_index(cand, Candidate, i);
        if (c->ub < top)
            break; /* sorted: no later row can reach the best found */
        float s = gw_vec_dot(f + (gsize)c->row * d, q, d);
        done++;
        if (s > top || (s == top && (gssize)c->row < best)) {
            top = s;
            best = (gssize)c->row;
        }
    }
    g_array_unref(cand);
    if (rescored != NULL)
        *rescored = done;
    if (best < 0 || top < floor)
        return -1;
    *sim = top;
    return best;
}

GwStatus gw_vec_from_json(json_t *arr, float **out, gsize *n, GError **err)
{
    gsize len = json_array_size(arr);
    if (!json_is_array(arr) || len == 0 || len > GW_VEC_MAX_DIMS)
        return gw_fail(err, GW_EINVAL, "embedding is not an array of 1 to %d numbers",
                       GW_VEC_MAX_DIMS);
    float *v = g_new(float, len);
    for (gsize i = 0; i < len; i++) {
        json_t *x = json_array_get(arr, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || fabs(d) > 1e30) {
            g_free(v);
            return gw_fail(err, GW_EINVAL, "embedding element %" G_GSIZE_FORMAT " is not a finite "
                           "number", i);
        }
        v[i] = (float)d;
    }
    if (!gw_vec_normalize(v, len)) {
        g_free(v);
        return gw_fail(err, GW_EINVAL, "embedding has no length (all zeros)");
    }
    *out = v;
    *n = len;
    return GW_OK;
}
