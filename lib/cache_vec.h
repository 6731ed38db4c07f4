/* cache_vec.h — float32 vectors for the semantic cache: normalising, the float32 blob format they
 * are stored in, and the brute-force cosine search (a tight loop over a contiguous matrix of
 * unit vectors, so cosine similarity is a dot product). Pure functions, no I/O. */
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

/* A JSON array of numbers ("embedding" of an embeddings answer) as n floats, normalised.
 * GW_EINVAL when it is not an array of 1..GW_VEC_MAX_DIMS finite numbers with a length.
 * *out (g_free) and *n are set only on success. */
GwStatus gw_vec_from_json(json_t *arr, float **out, gsize *n, GError **err);

#endif
