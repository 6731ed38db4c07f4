/* cache_vec.h — float32 vectors for the semantic cache: normalising, the brute-force exact cosine
 * search, and GwVecIndex, the in-memory index searched on a lookup (an int8 copy of every unit
 * vector scanned first; the float32 vectors of the candidates, fetched from their owner through a
 * callback, re-rank them exactly). No I/O. */
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
 * Only an int8 copy of every vector is kept in memory (row scaled so its largest component is
 * ±127, exactly dims bytes, no padding), with its scale, its quantisation error bound and the
 * caller's id for it: dims + 16 bytes a vector. A search scans the int8 rows against an int16
 * copy of the query, then asks the caller for the float32 vector of every row the quantisation
 * error could let beat the best one (GwVecFetchFn) and computes its exact cosine. The result is
 * the row gw_vec_search would return over the vectors added (same first-index tie rule), not an
 * approximation; a row whose vector cannot be fetched, or no longer is the one added (checked
 * against the int8 copy), is no match, and the result is then exact over the other rows.
 * Not thread-safe: the caller serialises adds against searches. */
typedef struct GwVecIndex GwVecIndex;

/* Writes the float32 vector added as row `row` with id `id` to out (dims floats). FALSE when it
 * is gone: the row is then no match for this search. Called only during gw_vec_index_search, at
 * most once per row: 1–2 rows a search on average in bench/cachebench. */
typedef gboolean (*GwVecFetchFn)(gpointer user, gsize row, gint64 id, float *out);

GwVecIndex *gw_vec_index_new(gsize dims);   /* dims 1..GW_VEC_MAX_DIMS */
void gw_vec_index_free(GwVecIndex *ix);      /* NULL is a no-op */
gsize gw_vec_index_dims(const GwVecIndex *ix);
gsize gw_vec_index_len(const GwVecIndex *ix);
/* Heap bytes the index holds (rows, their scales, bounds and ids, spare capacity included). */
gsize gw_vec_index_bytes(const GwVecIndex *ix);
/* Quantises vector v (dims floats; normalised here unless already of unit length) as row
 * gw_vec_index_len() - 1, under the caller's id. v is not kept. */
void gw_vec_index_add(GwVecIndex *ix, gint64 id, const float *v);
/* The id row was added with (row < gw_vec_index_len()). */
gint64 gw_vec_index_id(const GwVecIndex *ix, gsize row);
/* Releases spare capacity (bounded by one block of rows; call after a batch of adds). */
void gw_vec_index_trim(GwVecIndex *ix);
/* The exact best row for unit vector q (dims floats) when its float32 cosine is at least floor:
 * its row index and cosine in *sim; -1 when no row reaches floor (or the index is empty).
 * fetch(user, …) supplies the float32 vectors to re-rank. *rescored (may be NULL) gets how many
 * rows were re-ranked in float32 (fetched and still the vector added). */
gssize gw_vec_index_search(const GwVecIndex *ix, const float *q, float floor, GwVecFetchFn fetch,
                           gpointer user, float *sim, gsize *rescored);

/* A JSON array of numbers ("embedding" of an embeddings answer) as n floats, normalised.
 * GW_EINVAL when it is not an array of 1..GW_VEC_MAX_DIMS finite numbers with a length.
 * *out (g_free) and *n are set only on success. */
GwStatus gw_vec_from_json(json_t *arr, float **out, gsize *n, GError **err);

#endif
