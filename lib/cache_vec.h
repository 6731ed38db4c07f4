/* cache_vec.h — float32 vectors for the semantic cache: normalising, the brute-force exact cosine
 * search, and GwVecIndex, the in-memory index searched on a lookup (an int8 copy of every unit
 * vector scanned first, the float32 originals re-ranking the candidates exactly). No I/O. */
#ifndef GW_CACHE_VEC_H
#define GW_CACHE_VEC_H

#include <glib.h>
#include <jansson.h>
#include "status.h"

/* Largest embedding accepted (OpenAI's largest model has 3072 dimensions). */
#define GW_VEC_MAX_DIMS 8192

/* Scales v (n floats) to unit length. FALSE when it has no length (all zero) or is not finite. */
gboolean gw_vec_normalize(float *v, gsize n);

/* Dot product of a and b (n floats). */
float gw_vec_dot(const float *restrict a, const float *restrict b, gsize n);

/* Best match of unit vector q among count unit vectors of dims floats stored row after row in
 * mat: its row index (or -1 when count is 0) and its similarity in *best. */
gssize gw_vec_search(const float *restrict mat, gsize count, gsize dims, const float *restrict q,
                     float *best);

/* ---- the quantised index ----
 * Every vector is kept twice: float32 (exact) and int8 (row scaled so its largest component is
 * ±127, zero-padded to a multiple of 64). A search scans the int8 rows against an int16 copy of
 * the query (a quarter of the memory traffic of a float32 scan), then computes the exact float32
 * cosine of every row the quantisation error could let beat the best one. Each row's error bound
 * is kept with it, so the result is the row gw_vec_search would return (same first-index tie
 * rule), not an approximation. Not thread-safe: the caller serialises adds against searches. */
typedef struct GwVecIndex GwVecIndex;

GwVecIndex *gw_vec_index_new(gsize dims);   /* dims 1..GW_VEC_MAX_DIMS */
void gw_vec_index_free(GwVecIndex *ix);
gsize gw_vec_index_dims(const GwVecIndex *ix);
gsize gw_vec_index_len(const GwVecIndex *ix);
/* Appends a copy of unit vector v (dims floats) as row gw_vec_index_len() - 1. */
void gw_vec_index_add(GwVecIndex *ix, const float *v);
/* The exact best row for unit vector q (dims floats) when its float32 cosine is at least floor:
 * its row index and cosine in *sim; -1 when no row reaches floor (or the index is empty).
 * *rescored (may be NULL) gets how many rows were re-ranked in float32. */
gssize gw_vec_index_search(const GwVecIndex *ix, const float *q, float floor, float *sim,
                           gsize *rescored);

/* A JSON array of numbers ("embedding" of an embeddings answer) as n floats, normalised.
 * GW_EINVAL when it is not an array of 1..GW_VEC_MAX_DIMS finite numbers with a length.
 * *out (g_free) and *n are set only on success. */
GwStatus gw_vec_from_json(json_t *arr, float **out, gsize *n, GError **err);

#endif
