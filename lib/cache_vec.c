/* cache_vec.c — vector arithmetic for the semantic cache.
 *
 * The search is brute force: it needs no index structure to keep consistent. A float32 scan of
 * 100,000 vectors of 1536 dimensions reads 600 MB and is memory-bound (≈ 27 ms here), so
 * GwVecIndex scans an int8 copy (150 MB) against an int16 query with integer arithmetic (exact,
 * associative: the compiler vectorises it at -O2 because the inner loop has a constant trip
 * count — pmaddwd on x86-64's baseline SSE2), then re-ranks the few candidates in float32. The
 * float32 vectors are not kept: each candidate's is fetched from the caller (the cache database)
 * when it is re-ranked, ~1–2 rows a search, so the index holds dims + 16 bytes a vector instead
 * of 5·dims + 16 — per worker process, which is what limits how many vectors a pool can keep.
 *
 * Why the result is exact. For a row r (unit) stored as r' = k·inv (k int8) and the query q as
 * q' = j·qinv (j int16), the scan computes r'·q'. |r'·q' − r·q| ≤ |(r'−r)·q'| + |r·(q'−q)|
 *   ≤ ‖r'−r‖·‖q'‖ + ‖r‖·‖q'−q‖,
 * where ‖r'−r‖ is measured when the row is added and ‖q'−q‖ when the query is quantised; a
 * constant slack covers the float32 rounding of both the approximation and the float32 dot
 * product it is compared with. So every row's exact cosine lies in [approx − bound, approx +
 * bound]; the exact best is at least the largest lower bound, and only rows whose upper bound
 * reaches it (and the caller's floor) can be the best: those are re-ranked with gw_vec_dot, in
 * descending order of upper bound until none can beat the best found. A fetched vector is
 * quantised again and compared with its row, so the bound is only ever applied to the vector it
 * was measured on; a row that fails this (or whose vector is gone) is no match, and if that row
 * was the one setting the cut, the rows below the cut that may now win are re-ranked as well.
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

/* The scan's inner loop runs exactly this many times, which lets -O2 vectorise it completely;
 * the dims % QBLK components left over are summed after it, by TBLK as far as they go (also
 * vectorised), the last dims % TBLK one by one. */
#define QBLK 64
#define TBLK 16
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

/* ---- the quantised index ----
 * Rows live in blocks of BLOCK_ROWS rows, each block one allocation of int8 rows (dims bytes
 * each, back to back) and one of RowMeta. Only the last block grows (doubling from BLOCK_MIN
 * rows) so adding never moves the whole index, spare capacity is at most one block, and
 * gw_vec_index_trim gives even that back. Row r is row r % BLOCK_ROWS of block r / BLOCK_ROWS. */

#define BLOCK_ROWS 1024u
#define BLOCK_MIN 16u

typedef struct {
    float inv;   /* r' = k · inv */
    float err;   /* ≥ ‖r' − r‖ */
    gint64 id;   /* the caller's */
} RowMeta;

typedef struct {
    gint8 *q8;      /* len rows of dims int8 */
    RowMeta *meta;
    guint len, cap;
} Block;

struct GwVecIndex {
    gsize dims;
    gsize len;
    Block *blocks;
    guint nblocks, blocks_cap;
};

GwVecIndex *gw_vec_index_new(gsize dims)
{
    g_return_val_if_fail(dims > 0 && dims <= GW_VEC_MAX_DIMS, NULL);
    GwVecIndex *ix = g_new0(GwVecIndex, 1);
    ix->dims = dims;
    return ix;
}

void gw_vec_index_free(GwVecIndex *ix)
{
    if (ix == NULL)
        return;
    for (guint b = 0; b < ix->nblocks; b++) {
        g_free(ix->blocks[b].q8);
        g_free(ix->blocks[b].meta);
    }
    g_free(ix->blocks);
    g_free(ix);
}

gsize gw_vec_index_dims(const GwVecIndex *ix)
{
    return ix->dims;
}

gsize gw_vec_index_len(const GwVecIndex *ix)
{
    return ix->len;
}

gsize gw_vec_index_bytes(const GwVecIndex *ix)
{
    gsize bytes = sizeof *ix + ix->blocks_cap * sizeof(Block);
    for (guint b = 0; b < ix->nblocks; b++)
        bytes += ix->blocks[b].cap * (ix->dims + sizeof(RowMeta));
    return bytes;
}

static const RowMeta *meta_at(const GwVecIndex *ix, gsize row)
{
    return &ix->blocks[row / BLOCK_ROWS].meta[row % BLOCK_ROWS];
}

static const gint8 *row_at(const GwVecIndex *ix, gsize row)
{
    return ix->blocks[row / BLOCK_ROWS].q8 + (row % BLOCK_ROWS) * ix->dims;
}

gint64 gw_vec_index_id(const GwVecIndex *ix, gsize row)
{
    g_return_val_if_fail(row < ix->len, -1);
    return meta_at(ix, row)->id;
}

static void block_resize(Block *b, guint cap, gsize dims)
{
    b->q8 = g_realloc(b->q8, (gsize)cap * dims);
    b->meta = g_renew(RowMeta, b->meta, cap);
    b->cap = cap;
}

void gw_vec_index_trim(GwVecIndex *ix)
{
    if (ix->nblocks == 0)
        return;
    Block *b = &ix->blocks[ix->nblocks - 1];
    if (b->cap > b->len)
        block_resize(b, b->len, ix->dims);
    if (ix->blocks_cap > ix->nblocks) {
        ix->blocks = g_renew(Block, ix->blocks, ix->nblocks);
        ix->blocks_cap = ix->nblocks;
    }
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

/* The vector a row stands for: f as given when it is a unit vector (so the exact cosine is the
 * caller's), else normalised (the bound assumes ‖r‖ ≤ 1.001), else zero (no direction: it
 * matches nothing above 0). The same on add and on every fetch, so a fetched vector can be
 * checked against its row. */
static void canonical(float *f, gsize d)
{
    float norm = sqrtf(gw_vec_dot(f, f, d));
    if (!(fabsf(norm - 1.0f) <= 1e-3f) && !gw_vec_normalize(f, d))
        memset(f, 0, d * sizeof(float));
}

/* k (d int8), *inv and *err of canonical vector f. */
static void quantise_row(const float *f, gsize d, gint8 *k, float *inv, float *err)
{
    float m = max_abs(f, d);
    *inv = 0;
    *err = 0;
    if (!(m > 0)) {
        memset(k, 0, d);
        return;
    }
    *inv = m / 127.0f;
    double e2 = 0;
    for (gsize i = 0; i < d; i++)
        k[i] = (gint8)quantise(f[i], 1.0 / (double)*inv, (double)*inv, 127, &e2);
    *err = round_up(e2);
}

void gw_vec_index_add(GwVecIndex *ix, gint64 id, const float *v)
{
    gsize d = ix->dims;
    if (ix->nblocks == 0 || ix->blocks[ix->nblocks - 1].len == BLOCK_ROWS) {
        if (ix->nblocks == ix->blocks_cap) {
            ix->blocks_cap = MAX(4u, ix->blocks_cap * 2);
            ix->blocks = g_renew(Block, ix->blocks, ix->blocks_cap);
        }
        ix->blocks[ix->nblocks++] = (Block){0};
    }
    Block *b = &ix->blocks[ix->nblocks - 1];
    if (b->len == b->cap)
        block_resize(b, b->cap == 0 ? BLOCK_MIN : MIN(b->cap * 2, BLOCK_ROWS), d);
    float *f = g_memdup2(v, d * sizeof(float));
    canonical(f, d);
    RowMeta *m = &b->meta[b->len];
    quantise_row(f, d, b->q8 + (gsize)b->len * d, &m->inv, &m->err);
    m->id = id;
    g_free(f);
    b->len++;
    ix->len++;
}

/* The query as int16 (d entries) with its scale and error norm. The scale keeps
 * 127 · Σ|j_i| below 2^31 so no partial sum of the scan can overflow. */
static void quantise_query(const float *q, gsize d, gint16 *j, float *qinv, float *qerr)
{
    memset(j, 0, d * sizeof *j);
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
 * every other CPU runs the baseline build. Elsewhere, plain C. Not under ThreadSanitizer: its
 * runtime is not ready when the dynamic loader runs ifunc resolvers (the program crashes at
 * start). */
#if defined(__SANITIZE_THREAD__)
#define GW_NO_TARGET_CLONES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GW_NO_TARGET_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(GW_NO_TARGET_CLONES)
#define SCAN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef SCAN_CLONES
#define SCAN_CLONES
#endif

/* Integer dot products of count rows (d int8 each, back to back) with the query, scaled to
 * cosines. The blocks of QBLK (and TBLK) have a constant trip count and integer sums, so they
 * vectorise at -O2 (pmaddwd on SSE2); the d % TBLK components left (none for the usual
 * embedding sizes, all multiples of 64) are summed one by one, so rows need no padding. */
SCAN_CLONES static void scan(const gint8 *restrict m, const RowMeta *restrict meta, gsize count,
                             gsize d, const gint16 *restrict j, float qinv, float *restrict out)
{
    gsize full = d / QBLK * QBLK, part = d / TBLK * TBLK;
    for (gsize r = 0; r < count; r++) {
        const gint8 *a = m + r * d;
        int32_t t = 0;
        for (gsize i = 0; i < full; i += QBLK) {
            int32_t u = 0;
            for (int k = 0; k < QBLK; k++)
                u += (int16_t)a[i + k] * j[i + k];
            t += u;
        }
        for (gsize i = full; i < part; i += TBLK) {
            int32_t u = 0;
            for (int k = 0; k < TBLK; k++)
                u += (int16_t)a[i + k] * j[i + k];
            t += u;
        }
        for (gsize i = part; i < d; i++)
            t += (int16_t)a[i] * j[i];
        out[r] = (float)t * (meta[r].inv * qinv);
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

/* One search's state: the query, its bound terms, the approximate cosines, the best so far. */
typedef struct {
    const GwVecIndex *ix;
    const float *q;
    GwVecFetchFn fetch;
    gpointer user;
    const float *approx;
    float qn, qe;        /* bound_r = err_r · qn + qe */
    float *f;            /* scratch: a fetched vector */
    gint8 *k;            /* scratch: its int8 copy */
    float top;
    gssize best;
    gsize done;
} Search;

/* Rows with lo ≤ upper bound < hi, by descending upper bound (then row). */
static GArray *candidates(const Search *s, float lo, float hi)
{
    const GwVecIndex *ix = s->ix;
    GArray *cand = g_array_new(FALSE, FALSE, sizeof(Candidate));
    gsize r = 0;
    for (guint b = 0; b < ix->nblocks; b++) {
        const Block *blk = &ix->blocks[b];
        for (guint i = 0; i < blk->len; i++, r++) {
            float ub = s->approx[r] + (blk->meta[i].err * s->qn + s->qe);
            if (ub >= lo && ub < hi) {
                Candidate c = {ub, (guint32)r};
                g_array_append_val(cand, c);
            }
        }
    }
    if (cand->len > 1) /* an empty GArray's data may be NULL, which qsort may not be given */
        qsort(cand->data, cand->len, sizeof(Candidate), by_upper_bound);
    return cand;
}

/* The row's float32 vector in s->f, canonical: TRUE when the caller still has it and it is the
 * vector that was quantised (a vector changed under the same id would void the bound). */
static gboolean fetch_row(Search *s, gsize row)
{
    const GwVecIndex *ix = s->ix;
    const RowMeta *m = meta_at(ix, row);
    if (!s->fetch(s->user, row, m->id, s->f))
        return FALSE;
    canonical(s->f, ix->dims);
    float inv, err;
    quantise_row(s->f, ix->dims, s->k, &inv, &err);
    return memcmp(&inv, &m->inv, sizeof inv) == 0 && memcmp(&err, &m->err, sizeof err) == 0 &&
           memcmp(s->k, row_at(ix, row), ix->dims) == 0;
}

/* Re-ranks the candidates (sorted) in float32 until none can beat the best found. */
static void rerank(Search *s, const GArray *cand)
{
    for (guint i = 0; i < cand->len; i++) {
        const Candidate *c = &g_array_index(cand, Candidate, i);
        if (c->ub < s->top)
            break; /* sorted: no later row can reach the best found */
        if (!fetch_row(s, c->row))
            continue; /* gone: no match */
        float sim = gw_vec_dot(s->f, s->q, s->ix->dims);
        s->done++;
        if (sim > s->top || (sim == s->top && (gssize)c->row < s->best)) {
            s->top = sim;
            s->best = (gssize)c->row;
        }
    }
}

gssize gw_vec_index_search(const GwVecIndex *ix, const float *q, float floor, GwVecFetchFn fetch,
                           gpointer user, float *sim, gsize *rescored)
{
    gsize n = ix->len, d = ix->dims;
    if (rescored != NULL)
        *rescored = 0;
    *sim = -2.0f;
    g_return_val_if_fail(fetch != NULL, -1);
    if (n == 0)
        return -1;
    gint16 *j = g_new(gint16, d);
    float qinv, qerr;
    quantise_query(q, d, j, &qinv, &qerr);
    float qnorm = sqrtf(gw_vec_dot(q, q, d));
    float *approx = g_new(float, n);
    for (guint b = 0; b < ix->nblocks; b++)
        scan(ix->blocks[b].q8, ix->blocks[b].meta, ix->blocks[b].len, d, j, qinv,
             approx + (gsize)b * BLOCK_ROWS);
    g_free(j);

    /* bound_r = ‖r'−r‖·‖q'‖ + ‖r‖·‖q'−q‖ + slack, with ‖r‖ ≤ 1.001 (see canonical). */
    Search s = {
        .ix = ix, .q = q, .fetch = fetch, .user = user, .approx = approx,
        .qn = qnorm + qerr, .qe = qerr * 1.001f + BOUND_SLACK,
        .f = g_new(float, d), .k = g_new(gint8, d), .top = -INFINITY, .best = -1,
    };
    float lower = -INFINITY;
    gsize r = 0;
    for (guint b = 0; b < ix->nblocks; b++)
        for (guint i = 0; i < ix->blocks[b].len; i++, r++)
            lower = MAX(lower, approx[r] - (ix->blocks[b].meta[i].err * s.qn + s.qe));
    float cut = MAX(lower, floor);
    GArray *cand = candidates(&s, cut, INFINITY);
    rerank(&s, cand);
    g_array_unref(cand);
    /* Every row with an upper bound of at least cut was re-ranked, or could not beat the best.
     * The row whose lower bound set cut scores at least cut, so the best is below cut only when
     * rows could not be fetched: then the rows left out with an upper bound at or above the best
     * (and the floor) may win, and are re-ranked too. */
    float lo = MAX(s.top, floor);
    if (lo < cut) {
        cand = candidates(&s, lo, cut);
        rerank(&s, cand);
        g_array_unref(cand);
    }
    g_free(approx);
    g_free(s.f);
    g_free(s.k);
    if (rescored != NULL)
        *rescored = s.done;
    if (s.best < 0 || s.top < floor)
        return -1;
    *sim = s.top;
    return s.best;
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
